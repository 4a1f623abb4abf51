/**
 * How the CLI prints cassettes for people: colour (only on a terminal, never under NO_COLOR),
 * durations, bodies, headers, errors, and dependency calls as a waterfall.
 */
import { encodeValue } from '../cassette/codec.js';
import type { AnyCassette, Body, DependencyEvent, ErrorRecord, Headers } from '../cassette/schema.js';
import type { Difference } from './compare.js';
import { showValue } from '../cassette/differences.js';
import { describeCall } from '../replay/miss.js';

export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

/** Colours for stdout: on when it is a terminal and NO_COLOR (https://no-color.org) is unset or empty. */
export function terminalStyle(): Style {
  const on = process.stdout.isTTY === true && !process.env.NO_COLOR;
  const paint =
    (open: number, close: number) =>
    (text: string): string =>
      on && text ? `\x1b[${open}m${text}\x1b[${close}m` : text;
  return { bold: paint(1, 22), dim: paint(2, 22), red: paint(31, 39), green: paint(32, 39), yellow: paint(33, 39), cyan: paint(36, 39) };
}

/** No colour at all: for text that is not printed on a terminal (a test's failure message, the dashboard's lines). */
export const PLAIN_STYLE: Style = { bold: String, dim: String, red: String, green: String, yellow: String, cyan: String };

/** How a replay's differences name its two sides: the recording, then the replay. */
export const REPLAY_SIDES = { a: 'recorded', b: 'replay' } as const;

/** `0.4ms`, `12ms`, `1.52s`: short, with the precision that matters at each size. */
export function formatDuration(ms: number): string {
  if (ms < 10) return `${Number(ms.toFixed(1))}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${Number((ms / 1000).toFixed(2))}s`;
}

/** The status in its colour: red for 5xx and no response, yellow for 4xx. */
export function formatStatus(status: number, style: Style): string {
  if (status === 0) return style.red('no response');
  if (status >= 500) return style.red(String(status));
  if (status >= 400) return style.yellow(String(status));
  return style.green(String(status));
}

/** An error in one line: `ECONNREFUSED`, `23505 duplicate key value…`, `TypeError: fetch failed`. */
export function formatError(error: ErrorRecord): string {
  const code = error.code === undefined ? '' : String(error.code);
  // Node puts the code in the message too (`connect ECONNREFUSED 127.0.0.1:1`): the code alone says it.
  if (code && error.message.includes(code)) return code;
  const message = lastLine(error.message);
  return code ? `${code} ${message}` : `${error.name}: ${message}`;
}

/** One line of a message: a multi-line one (Prisma's: the call's code frame, then the cause) by its last. */
function lastLine(message: string): string {
  return (
    message
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .at(-1) ?? ''
  );
}

/** `name: value` lines; a repeated header gives one line per value. */
export function headerLines(headers: Headers): string[] {
  return Object.entries(headers).flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).map((item) => `${name}: ${item}`));
}

/** A body as lines: JSON pretty-printed, text as it is, bytes by their size, with a note when cut short. */
export function bodyLines(body: Body | null | undefined, style: Style): string[] {
  // Absent: a cassette written by hand may leave a body out.
  if (!body) return [style.dim('(none)')];
  const notes: string[] = [];
  if (body.truncated) notes.push(`truncated: ${body.size_bytes} bytes in all, the start kept`);
  if (body.content_encoding) notes.push(`sent ${body.content_encoding}-compressed`);
  let lines: string[];
  if (body.encoding === 'base64') lines = [style.dim(`(binary, ${body.size_bytes} bytes)`)];
  else if (body.encoding === 'json' && !body.truncated) lines = JSON.stringify(encodeValue(body.data), null, 2).split('\n');
  else lines = String(body.data).split('\n');
  if (lines.length === 1 && lines[0] === '') lines = [style.dim('(empty)')];
  return notes.length ? [...lines, style.yellow(`(${notes.join('; ')})`)] : lines;
}

/** What a call came back with, in one line: its status (`200`), command tag (`SELECT 3`) or error. */
function callOutcome(event: DependencyEvent): string {
  if (event.error) return formatError(event.error);
  const result = event.result as { status?: unknown; command?: unknown; results?: unknown } | null | undefined;
  if (typeof result?.status === 'number') return String(result.status);
  if (typeof result?.command === 'string') return result.command;
  // Databases that answer one call with several result sets (pg: `BEGIN; INSERT ...`) tag each.
  if (Array.isArray(result?.results)) {
    const tags = (result.results as Array<{ command?: unknown } | null>)
      .map((set) => set?.command)
      .filter((tag): tag is string => typeof tag === 'string');
    if (tags.length) return tags.join(', ');
  }
  return 'ok';
}

const BAR_WIDTH = 30;

/**
 * A heading with the time scale, then one line per call: when it started, a bar placing it within
 * the request (or the process's run), how long it took, what it was and what came back, and how
 * many more times a process made it. No lines when there are no calls.
 */
export function waterfallLines(cassette: AnyCassette, style: Style): string[] {
  const { events } = cassette;
  if (!events.length) return [];
  // Calls may outlast the response (work the handler left running): the scale covers both.
  const span = cassette.response ? cassette.response.duration_ms : cassette.stats.total_ms;
  const total = Math.max(span, ...events.map((e) => e.start_offset_ms + e.duration_ms), Number.EPSILON);
  const cell = (ms: number): number => Math.min(BAR_WIDTH, Math.max(0, Math.round((ms / total) * BAR_WIDTH)));
  const typeWidth = Math.max(0, ...events.map((e) => e.type.length));
  const scale = `0${formatDuration(total).padStart(BAR_WIDTH - 1)}`;
  const heading = style.dim(['START'.padStart(8), `|${scale}|`, 'TOOK'.padStart(7), 'CALL'].join('  '));
  return [
    heading,
    ...events.map((event) => {
      const start = Math.min(cell(event.start_offset_ms), BAR_WIDTH - 1);
      const end = Math.max(start + 1, cell(event.start_offset_ms + event.duration_ms));
      const bar = `${' '.repeat(start)}${'█'.repeat(end - start)}${' '.repeat(BAR_WIDTH - end)}`;
      const signature = describeCall(event.type, event.signature).slice(event.type.length + 1);
      const outcome = callOutcome(event);
      return [
        `+${formatDuration(event.start_offset_ms)}`.padStart(8),
        `|${event.error ? style.red(bar) : style.cyan(bar)}|`,
        formatDuration(event.duration_ms).padStart(7),
        event.type.padEnd(typeWidth),
        signature,
        event.error ? style.red(outcome) : outcome,
        ...(event.repeats ? [style.dim(`(and ${event.repeats} more time${event.repeats === 1 ? '' : 's'})`)] : []),
      ].join('  ');
    }),
  ];
}

const SHOWN_PER_CALL = 5;

/**
 * One difference between two cassettes, in lines: a field with both values, or a call only one
 * of them made (`a`: the first, the recording), or made by both with other results.
 */
export function differenceLines(difference: Difference, style: Style, sides: { a: string; b: string } = { a: 'a', b: 'b' }): string[] {
  switch (difference.kind) {
    case 'call.added':
      return [`${style.green('added call')} (${sides.b} only, eid ${difference.eid}): ${difference.call}`];
    case 'call.removed':
      return [`${style.red('removed call')} (${sides.a} only, eid ${difference.eid}): ${difference.call}`];
    case 'call.changed': {
      const more = difference.changes.length - SHOWN_PER_CALL;
      return [
        `${style.yellow('changed call')} (eid ${difference.eid_a} → ${difference.eid_b}): ${difference.call}`,
        ...difference.changes
          .slice(0, SHOWN_PER_CALL)
          .map((change) => `    ${change.path || 'value'}: ${showValue(change.a)} → ${showValue(change.b)}`),
        ...(more > 0 ? [style.dim(`    … and ${more} more`)] : []),
      ];
    }
    default:
      return [`${difference.path}: ${showValue(difference.a)} → ${showValue(difference.b)}`];
  }
}
