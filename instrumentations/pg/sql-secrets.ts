/**
 * Secrets in SQL: the values written into a column whose name is on the redaction list, as a
 * parameter (`password = $2`, `INSERT INTO users (email, password) VALUES ($1, $2)`) or as a
 * literal (`token = 'abc'`, as ORMs that inline values write it), also inside a function call
 * (`VALUES ($1, md5($2))`). Best effort over the SQL shapes apps and ORMs send: comparisons and
 * INSERT column lists.
 */
import { isSecretValue, type Redactor } from '../../src/plugin.js';

const IDENTIFIER = String.raw`(?:[\w$]+\.|"(?:[^"]|"")+"\.)*(?:"((?:[^"]|"")+)"|([A-Za-z_][\w$]*))`;
const LITERAL = "'(?:[^']|'')*'";
/** A function call around the value, parentheses nested once: `crypt($1, gen_salt('bf'))`, `md5($2)`. */
const CALL = String.raw`[A-Za-z_][\w.]*\s*\((?:[^()']|${LITERAL}|\((?:[^()']|${LITERAL})*\))*\)`;
const COMPARISON = new RegExp(String.raw`${IDENTIFIER}\s*(=|<>|!=)\s*(\$\d+|${LITERAL}|${CALL})`, 'g');
const LITERALS = new RegExp(LITERAL, 'g');
const INSERT = /\binsert\s+into\s+[^(]+\(([^)]*)\)\s*values\s*/gi;

/** Splits on commas outside quotes and parentheses. */
function splitList(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      // A doubled quote stands for one: the quoted run goes on.
      if (ch === quote && text[i + 1] === quote) i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  items.push(text.slice(start));
  return items;
}

function unquote(identifier: string): string {
  const name = identifier.trim().split('.').pop() ?? '';
  return name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name;
}

/** The value tuples after `VALUES`, with where each starts in `sql`. */
function valueTuples(sql: string, from: number): Array<{ start: number; text: string }> {
  const tuples: Array<{ start: number; text: string }> = [];
  let at = from;
  while (sql[at] === '(') {
    let depth = 0;
    let quote: string | undefined;
    let end = at;
    for (; end < sql.length; end++) {
      const ch = sql[end];
      if (quote) {
        if (ch === quote && sql[end + 1] === quote) end++;
        else if (ch === quote) quote = undefined;
      } else if (ch === "'" || ch === '"') quote = ch;
      else if (ch === '(') depth++;
      else if (ch === ')' && --depth === 0) break;
    }
    tuples.push({ start: at + 1, text: sql.slice(at + 1, end) });
    at = end + 1;
    while (/[\s,]/.test(sql[at] ?? '')) at++;
  }
  return tuples;
}

/** The SQL with secret literals replaced, and the parameters with secret ones replaced. */
export function redactSql(sql: string, params: readonly unknown[], redactor: Redactor): { sql: string; params: unknown[] } {
  const secretParams = new Set<number>();
  /** [start, end) ranges of secret literals in `sql`. */
  const secretLiterals: Array<[number, number]> = [];
  // Every parameter and literal in a secret column's value, a function's arguments too (`md5($2)`).
  const note = (value: string, at: number): void => {
    for (const param of value.matchAll(/\$(\d+)/g)) secretParams.add(Number(param[1]) - 1);
    for (const literal of value.matchAll(LITERALS)) secretLiterals.push([at + literal.index!, at + literal.index! + literal[0].length]);
  };
  for (const match of sql.matchAll(COMPARISON)) {
    const name = match[1]?.replace(/""/g, '"') ?? match[2] ?? '';
    if (redactor.isSecret(name)) note(match[4]!, match.index! + match[0].length - match[4]!.length);
  }
  for (const match of sql.matchAll(INSERT)) {
    const columns = splitList(match[1]!).map(unquote);
    if (!columns.some((column) => redactor.isSecret(column))) continue;
    for (const tuple of valueTuples(sql, match.index! + match[0].length)) {
      let offset = tuple.start;
      for (const [i, value] of splitList(tuple.text).entries()) {
        if (redactor.isSecret(columns[i] ?? '')) note(value, offset);
        offset += value.length + 1;
      }
    }
  }
  let redactedSql = sql;
  for (const [start, end] of secretLiterals.sort((a, b) => b[0] - a[0])) {
    redactedSql = `${redactedSql.slice(0, start)}'${redactor.redactValue(sql.slice(start + 1, end - 1).replace(/''/g, "'"))}'${redactedSql.slice(end)}`;
  }
  return {
    sql: redactedSql,
    params: params.map((value, i) => (secretParams.has(i) && isSecretValue(value) ? redactor.redactValue(value) : value)),
  };
}

/**
 * A server error's detail quotes values: `Key (email, password)=(a@b.c, x) already exists.` has
 * the values of secret columns redacted (all of them when the values cannot be told apart), and
 * `Failing row contains (1, a@b.c, x).`, whose columns are not named, has its values redacted whole.
 */
export function redactDetail(detail: string, redactor: Redactor): string {
  const key = /^Key \((.*)\)=\((.*)\)((?: [^()]*)?)$/s.exec(detail);
  if (key) {
    const [, columnText = '', valueText = '', rest = ''] = key;
    const columns = splitList(columnText).map(unquote);
    if (!columns.some((column) => redactor.isSecret(column))) return detail;
    const values = valueText.split(', ');
    const redacted =
      values.length === columns.length
        ? values.map((value, i) => (redactor.isSecret(columns[i]!) ? redactor.redactValue(value) : value)).join(', ')
        : redactor.redactValue(valueText);
    return `Key (${columnText})=(${redacted})${rest}`;
  }
  const row = /^Failing row contains \((.*)\)\.$/s.exec(detail);
  return row ? `Failing row contains (${redactor.redactValue(row[1])}).` : detail;
}
