/** `timetracer diff`: what differs between two cassettes of a request. Exit 0 same, 1 different, 2 error. */
import { compareCassettes, requestLine, type Difference } from '../compare.js';
import { displayPath } from '../../log.js';
import type { Cassette } from '../../cassette/schema.js';
import { CliError, defineCommand } from '../command.js';
import { differenceLines, formatStatus, terminalStyle, type Style } from '../format.js';
import { CassetteLocator, DIR_OPTION_HELP, type LoadedCassette } from '../locate.js';

/** How many field differences a report shows per part before it counts the rest. */
const SHOWN_PER_PART = 20;

export default defineCommand({
  name: 'diff',
  cassetteArguments: true,
  summary: 'compare two cassettes: status, headers, body and dependency calls (exit 0 same, 1 different)',
  usage: `<a> <b> [--ignore FIELD]... [--dir D] [--json]
       timetracer diff <replayed> [--ignore FIELD]... [--dir D] [--json]

Compares the request line, the status, the response headers, the response body (JSON field by
field) and the dependency calls: calls are paired by type and signature (the n-th identical call
with the n-th) and reported as added (in b only), removed (in a only) or changed (same call,
different result or error). Headers that change on every run (date, etag, content-length,
connection, x-request-id and other request or trace ids) are not compared.

With one cassette written by replay (TIMETRACER_REPLAY_DIR), compares it with the recorded
cassette it was replayed from.

<a>, <b>: cassette files, or ids (or their first characters) or relative paths in the directory.

Options:
  --ignore FIELD a field not to compare: a name at any depth (updated_at), or a path as the
                 report prints it (body.items[0].id, result.body.id in a call); repeat
                 it or separate names with commas
  ${DIR_OPTION_HELP}
  --json         print {"same", "a", "b", "differences": [...]} instead of a report

Exit status: 0 same, 1 different, 2 error (missing or corrupt cassette, bad option).`,
  options: {
    ignore: { type: 'string', multiple: true },
    dir: { type: 'string' },
    json: { type: 'boolean' },
  },
  run(values, positionals) {
    if (positionals.length < 1 || positionals.length > 2)
      throw new CliError('name two cassettes, or one written by replay; see timetracer diff --help');
    const locator = new CassetteLocator(values.dir as string | undefined);
    const b = ofRequest(locator.load(positionals[positionals.length - 1]!));
    const a = ofRequest(positionals.length === 2 ? locator.load(positionals[0]!) : recordedOrigin(b, locator));
    const ignore = ((values.ignore as string[] | undefined) ?? []).flatMap((entry) => entry.split(','));
    const differences = compareCassettes(a.cassette, b.cassette, { ignore });
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ same: !differences.length, a: a.file, b: b.file, differences }, null, 2)}\n`);
    } else {
      process.stdout.write(`${report(a, b, differences, terminalStyle()).join('\n')}\n`);
    }
    return differences.length ? 1 : 0;
  },
});

type RequestCassetteLoaded = LoadedCassette & { cassette: Cassette };

/** Diff compares what requests did: a process cassette is refused in one line. */
function ofRequest(loaded: LoadedCassette): RequestCassetteLoaded {
  if (!loaded.cassette.request)
    throw new CliError(
      `${displayPath(loaded.file)} is a process cassette (calls made outside requests); diff compares request cassettes, and timetracer show shows this one`,
    );
  return loaded as RequestCassetteLoaded;
}

/** The cassette a replayed one names as its source (a path as the replaying process saw it). */
function recordedOrigin(replayed: LoadedCassette, locator: CassetteLocator): LoadedCassette {
  const origin = replayed.cassette.session.replay_of;
  if (!origin)
    throw new CliError(`${replayed.file} was not written by replay (it names no cassette it was replayed from); name two cassettes`);
  return locator.load(origin);
}

function report(a: RequestCassetteLoaded, b: RequestCassetteLoaded, differences: readonly Difference[], style: Style): string[] {
  const title = (side: string, { file, cassette }: RequestCassetteLoaded): string =>
    `${style.bold(side)}  ${requestLine(cassette.request)} → ${formatStatus(cassette.response.status, style)}  ${style.dim(`recorded ${cassette.session.recorded_at}  ${displayPath(file)}`)}`;
  const lines = [title('a', a), title('b', b), ''];
  if (!differences.length) {
    const calls = b.cassette.events.length;
    lines.push(style.green(`Same: status, headers, body and ${calls} dependency call${calls === 1 ? '' : 's'}.`));
    return lines;
  }
  const shownPerKind = new Map<Difference['kind'], number>();
  for (const difference of differences) {
    const shown = shownPerKind.get(difference.kind) ?? 0;
    shownPerKind.set(difference.kind, shown + 1);
    if (shown < SHOWN_PER_PART) for (const line of differenceLines(difference, style)) lines.push(line);
  }
  for (const [kind, count] of shownPerKind) {
    if (count > SHOWN_PER_PART) lines.push(style.dim(`… and ${count - SHOWN_PER_PART} more ${kind} differences (--json lists all)`));
  }
  lines.push('', style.yellow(`${differences.length} difference${differences.length === 1 ? '' : 's'}`));
  return lines;
}
