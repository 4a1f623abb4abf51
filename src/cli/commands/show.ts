/** `timetracer show`: one cassette for people: the request, the response and a waterfall of its calls. */
import { encodeValue } from '../../cassette/codec.js';
import type { AnyCassette, Body, Cassette, ErrorRecord, Headers, ProcessCassette } from '../../cassette/schema.js';
import { displayPath } from '../../log.js';
import { CliError, defineCommand } from '../command.js';
import { bodyLines, formatDuration, formatError, formatStatus, headerLines, terminalStyle, waterfallLines, type Style } from '../format.js';
import { CassetteLocator, DIR_OPTION_HELP } from '../locate.js';

export default defineCommand({
  name: 'show',
  cassetteArguments: true,
  summary: 'show one cassette: request, response and a waterfall of its dependency calls (a process cassette: its calls over time)',
  usage: `<cassette> [--dir D] [--raw | --json]

<cassette> is a cassette file (.json or .json.gz), or the id (or its first characters) or
relative path of a cassette in the directory.

Options:
  ${DIR_OPTION_HELP}
  --raw          print the cassette's JSON exactly as the file holds it
  --json         print the cassette as JSON (typed values tagged, as written)`,
  options: {
    dir: { type: 'string' },
    raw: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  run(values, positionals) {
    if (positionals.length !== 1) throw new CliError('name one cassette (a file, or an id in --dir); see timetracer show --help');
    if (values.raw && values.json) throw new CliError('--raw and --json cannot be used together');
    const { file, text, cassette } = new CassetteLocator(values.dir as string | undefined).load(positionals[0]!);
    if (values.raw) process.stdout.write(text);
    else if (values.json) process.stdout.write(`${JSON.stringify(encodeValue(cassette), null, 2)}\n`);
    else process.stdout.write(`${describeCassette(cassette, file, terminalStyle()).join('\n')}\n`);
    return 0;
  },
});

export function describeCassette(cassette: AnyCassette, file: string, style: Style): string[] {
  return cassette.request ? describeRequest(cassette, file, style) : describeProcess(cassette, file, style);
}

/** A process cassette: what the process did outside its requests, over its run. */
function describeProcess(cassette: ProcessCassette, file: string, style: Style): string[] {
  const { session, events, stats } = cassette;
  const repeats = events.reduce((n, event) => n + (event.repeats ?? 0), 0);
  const header = [
    style.bold('PROCESS'),
    'calls made outside requests',
    session.pid === undefined ? '' : `pid ${session.pid}`,
    `ran ${formatDuration(stats.total_ms)}`,
    `started ${session.recorded_at}`,
    `service ${session.service}`,
    `id ${session.id}`,
    `file ${displayPath(file)}`,
  ]
    .filter(Boolean)
    .join('  ');
  const calls = events.length
    ? `Dependency calls (${events.length}${repeats ? `, and ${repeats} repeats counted` : ''})`
    : 'Dependency calls: none';
  return [header, '', style.bold(calls)].concat(waterfallLines(cassette, style));
}

function describeRequest(cassette: Cassette, file: string, style: Style): string[] {
  const { session, request, response, events } = cassette;
  const header = [
    style.bold(`${request.method} ${request.path}`),
    request.route ? `route ${request.route}` : '',
    `status ${formatStatus(response.status, style)}`,
    formatDuration(response.duration_ms),
    `recorded ${session.recorded_at}`,
    `service ${session.service}`,
    `id ${session.id}`,
    session.trace_id ? `trace ${session.trace_id}` : '',
    session.span_id ? `span ${session.span_id}` : '',
    `file ${displayPath(file)}`,
  ]
    .filter(Boolean)
    .join('  ');
  // Joined, not spread into push: a body can be hundreds of thousands of lines, past what a call takes as arguments.
  return [header, ...(session.replay_of ? [`replay of ${session.replay_of}`] : []), '', style.bold('Request')].concat(
    section({ query: queryLines(request), headers: request.headers, body: request.body }, style),
    ['', style.bold('Response')],
    section({ headers: response.headers, body: response.body, error: response.error }, style),
    ['', style.bold(events.length ? `Dependency calls (${events.length})` : 'Dependency calls: none')],
    waterfallLines(cassette, style),
  );
}

interface Section {
  query?: string[];
  headers: Headers;
  body: Body | null;
  error?: ErrorRecord | undefined;
}

/** Labelled blocks, the label in a column of its own and the content indented under it. */
function section({ query, headers, body, error }: Section, style: Style): string[] {
  const blocks: Array<[string, string[]]> = [];
  if (query?.length) blocks.push(['query', query]);
  const headerText = headerLines(headers);
  blocks.push(['headers', headerText.length ? headerText : [style.dim('(none)')]]);
  blocks.push(['body', bodyLines(body, style)]);
  if (error) blocks.push(['error', [style.red(formatError(error))]]);
  return blocks.flatMap(([label, content]) => content.map((line, i) => `  ${style.dim((i === 0 ? label : '').padEnd(9))}${line}`));
}

function queryLines(request: Cassette['request']): string[] {
  return Object.entries(request.query ?? {}).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value]).map((item) => `${name}=${item}`),
  );
}
