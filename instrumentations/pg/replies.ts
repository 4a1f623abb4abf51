/**
 * A pg query as PostgreSQL answered it, message by message. Recording keeps what the server
 * sent in reply to each of the client's flush/sync/query messages; replay sends the same
 * messages back, so pg's own code (row parsing with the app's type parsers, rowMode, result
 * objects, errors, pg-cursor's portal reads) runs exactly as it did live.
 */
import {
  toErrorRecord,
  type CallOutcome,
  type DependencyEvent,
  type ErrorRecord,
  type Lookup,
  type Redactor,
  type Signature,
} from '../../src/plugin.js';
import { redactDetail, redactSql } from './sql-secrets.js';

/** PostgreSQL's type id of `boolean`. */
const PG_BOOL = 16;

/** A column as RowDescription describes it. */
export interface PgField {
  name: string;
  tableID: number;
  columnID: number;
  dataTypeID: number;
  dataTypeSize: number;
  dataTypeModifier: number;
  format: string;
}

/** One statement's result: its columns, its rows as PostgreSQL sent them (text), its command tag. */
export interface PgResultSet {
  command: string | null;
  fields: PgField[];
  rows: Array<Array<string | null>>;
}

/** The `db.query` event's `result` for pg. */
export interface PgCallResult {
  results: PgResultSet[];
  /**
   * The server's reply to each flush, sync or simple query, as message names in order;
   * `dataRow*3` stands for three rows, `readyForQuery:T` carries the transaction status.
   * Row data and command tags come from `results`, in order.
   */
  replies: string[][];
  /** NoticeResponse messages (RAISE NOTICE, warnings), in order. */
  notices?: Array<Record<string, unknown>>;
  /**
   * The ParameterStatus values (server_version, standard_conforming_strings, TimeZone, ...) the
   * server sent when the connection this query ran on started. Kept on the first query of each
   * session only: replay answers every connect made in that session with them, since ORMs read
   * them while connecting (Sequelize decides its start-up statements by them).
   */
  server_parameters?: Record<string, string>;
}

/** A message as pg's Connection emits it: a name and the fields of that message. */
export interface PgMessage {
  name: string;
  [field: string]: unknown;
}

/** What replay has the Connection emit: the event name, and the message (an Error for errorMessage). */
export type PgEmit = [event: string, message: PgMessage | Error];

/** The backend messages that belong to a query's exchange (not notifications or start-up). */
export const QUERY_MESSAGES = new Set([
  'parseComplete',
  'bindComplete',
  'closeComplete',
  'noData',
  'parameterDescription',
  'rowDescription',
  'dataRow',
  'portalSuspended',
  'commandComplete',
  'emptyQuery',
  'errorMessage',
  'notice',
  'readyForQuery',
]);

/** SQL with its whitespace runs made one space, and secrets written into it redacted. */
export function pgSignature(sql: string, params: readonly unknown[], redactor: Redactor): Signature {
  const redacted = redactSql(sql.replace(/\s+/g, ' ').trim(), params, redactor);
  return { lib: 'pg', sql: redacted.sql, params: redacted.params };
}

export function pgLookup(sql: string, params: readonly unknown[], redactor: Redactor): Lookup {
  return { type: 'db.query', signature: pgSignature(sql, params, redactor) };
}

function fieldOf(raw: Record<string, unknown>): PgField {
  return {
    name: String(raw.name),
    tableID: Number(raw.tableID),
    columnID: Number(raw.columnID),
    dataTypeID: Number(raw.dataTypeID),
    dataTypeSize: Number(raw.dataTypeSize),
    dataTypeModifier: Number(raw.dataTypeModifier),
    format: String(raw.format),
  };
}

const NOTICE_FIELDS = [
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
  'message',
];

/** A notice's or an error's fields with the values its detail quotes redacted (see redactDetail). */
function withDetailRedacted<T extends Record<string, unknown>>(fields: T, redactor: Redactor): T {
  return typeof fields.detail === 'string' ? { ...fields, detail: redactDetail(fields.detail, redactor) } : fields;
}

/** Record: one query's exchange with the server, built as its messages arrive. */
export class PgRecording {
  private readonly results: PgResultSet[] = [];
  private readonly replies: string[][] = [];
  private readonly notices: Array<Record<string, unknown>> = [];
  private current: PgResultSet | undefined;
  private error: ErrorRecord | undefined;
  private sql = '';
  private params: unknown[] = [];
  started = false;
  finished = false;
  /** See PgCallResult.server_parameters. */
  serverParameters: Record<string, string> | undefined;

  /** The client sent a flush, sync or simple query: what the server sends next is its reply. */
  sent(statement: { sql: string; params: unknown[] } | undefined): void {
    if (!this.started && statement) {
      this.sql = statement.sql;
      this.params = statement.params;
    }
    this.started = true;
    this.replies.push([]);
  }

  /** A message the Connection emitted as `event` (errors are emitted as 'errorMessage'). */
  received(event: string, message: PgMessage): void {
    const reply = this.replies[this.replies.length - 1] ?? (this.replies[0] = []);
    switch (event) {
      case 'rowDescription':
        this.current = { command: null, fields: (message.fields as Array<Record<string, unknown>>).map(fieldOf), rows: [] };
        this.results.push(this.current);
        break;
      case 'dataRow': {
        if (!this.current) this.results.push((this.current = { command: null, fields: [], rows: [] }));
        this.current.rows.push([...(message.fields as Array<string | null>)]);
        const last = reply[reply.length - 1];
        if (last?.startsWith('dataRow*')) {
          reply[reply.length - 1] = `dataRow*${Number(last.slice(8)) + 1}`;
          return;
        }
        reply.push('dataRow*1');
        return;
      }
      case 'commandComplete':
        if (!this.current) this.results.push((this.current = { command: null, fields: [], rows: [] }));
        this.current.command = String(message.text);
        this.current = undefined;
        break;
      case 'errorMessage':
        this.error = toErrorRecord(message, 'dependency');
        break;
      case 'notice':
        this.notices.push(Object.fromEntries(NOTICE_FIELDS.filter((f) => message[f] !== undefined).map((f) => [f, message[f]])));
        break;
      case 'readyForQuery':
        reply.push(`readyForQuery:${String(message.status ?? 'I')}`);
        return;
    }
    reply.push(event);
  }

  /** The exchange broke off (the connection failed or closed). */
  failed(error: unknown): void {
    this.error ??= toErrorRecord(error, 'dependency');
  }

  /** The event, with the values of columns named as secrets redacted. */
  describe(redactor: Redactor): CallOutcome {
    for (const set of this.results) {
      // A boolean column (`has_password`) says nothing, and its text must still parse as one.
      const secret = set.fields.flatMap((field, i) => (field.dataTypeID !== PG_BOOL && redactor.isSecret(field.name) ? [i] : []));
      if (secret.length)
        set.rows = set.rows.map((row) =>
          row.map((value, i) => (value !== null && secret.includes(i) ? redactor.redactValue(value) : value)),
        );
    }
    const result: PgCallResult = { results: this.results, replies: this.replies };
    if (this.notices.length) result.notices = this.notices.map((notice) => withDetailRedacted(notice, redactor));
    if (this.serverParameters) result.server_parameters = this.serverParameters;
    const outcome: CallOutcome = { signature: pgSignature(this.sql, this.params, redactor), result };
    if (this.error)
      outcome.error = { ...this.error, ...(this.error.fields && { fields: withDetailRedacted(this.error.fields, redactor) }) };
    return outcome;
  }
}

/**
 * Replay: how the server answers a connection's start-up in a session whose recording is
 * `events`: the ParameterStatus messages recorded for the session, then ready for queries.
 */
export function startupReply(events: readonly DependencyEvent[]): PgEmit[] {
  const recorded = events.find((event) => event.signature.lib === 'pg' && (event.result as PgCallResult | undefined)?.server_parameters);
  const parameters = (recorded?.result as PgCallResult | undefined)?.server_parameters ?? {};
  return [
    ...Object.entries(parameters).map(
      ([parameterName, parameterValue]): PgEmit => ['parameterStatus', { name: 'parameterStatus', parameterName, parameterValue }],
    ),
    ['backendKeyData', { name: 'backendKeyData', processID: 0, secretKey: 0 }],
    ['readyForQuery', { name: 'readyForQuery', status: 'I' }],
  ];
}

/** Replay: the recorded replies of one query, handed out one per flush/sync/query. */
export class PgPlayback {
  private reply = 0;
  private nextResult = 0;
  private current: { set: PgResultSet; row: number } | undefined;
  private notice = 0;
  private readonly result: PgCallResult;

  constructor(
    private readonly event: DependencyEvent,
    private readonly makeError: (record: ErrorRecord) => Error,
  ) {
    this.result = (event.result as PgCallResult | undefined) ?? { results: [], replies: [] };
  }

  /** The messages that answer the client's next flush/sync/query; undefined when none were recorded. */
  next(): PgEmit[] | undefined {
    const tokens = this.result.replies[this.reply++];
    if (!tokens) return undefined;
    return tokens.flatMap((token) => this.messages(token));
  }

  private takeResult(): { set: PgResultSet; row: number } {
    const set = this.result.results[this.nextResult++] ?? { command: null, fields: [], rows: [] };
    return { set, row: 0 };
  }

  private messages(token: string): PgEmit[] {
    const [name, argument] = token.split(/[*:]/) as [string, string | undefined];
    switch (name) {
      case 'rowDescription': {
        this.current = this.takeResult();
        const { fields } = this.current.set;
        return [[name, { name, fieldCount: fields.length, fields: fields.map((f) => ({ ...f })) }]];
      }
      case 'dataRow': {
        const current = (this.current ??= this.takeResult());
        const rows = current.set.rows.slice(current.row, current.row + Number(argument));
        current.row += rows.length;
        return rows.map((fields) => [name, { name, fieldCount: fields.length, fields: [...fields] }]);
      }
      case 'commandComplete': {
        const current = this.current ?? this.takeResult();
        this.current = undefined;
        return [[name, { name, text: current.set.command ?? '' }]];
      }
      case 'errorMessage':
        return [[name, this.makeError(this.event.error ?? { name: 'error', message: 'the recorded query failed' })]];
      case 'notice':
        return [[name, { name, ...(this.result.notices?.[this.notice++] ?? {}) }]];
      case 'readyForQuery':
        return [[name, { name, status: argument ?? 'I' }]];
      default:
        return [[name, { name }]];
    }
  }
}
