/**
 * `timetracer replay <cassettes> -- <command>`: recorded traffic as a regression suite. Starts the
 * app in replay mode, sends it every recorded request again, compares every response and every
 * dependency call with the recording, and exits 1 when any differs.
 */
import type { Difference } from '../compare.js';
import { requestLine } from '../compare.js';
import type { Cassette } from '../../cassette/schema.js';
import { displayPath } from '../../log.js';
import { CliError, defineCommand, integerOption } from '../command.js';
import { differenceLines, formatStatus, REPLAY_SIDES, terminalStyle, type Style } from '../format.js';
import fs from 'node:fs';
import path from 'node:path';
import { buildReport, newRunFolder, RUNS_FOLDER, writeReport } from '../replay-report.js';
import {
  cassetteRoot,
  learnNoise,
  NOISE_FILE,
  noiseFileOf,
  noiseOf,
  rerecord,
  ReplayRunError,
  runReplay,
  type Rerecorded,
  type ReplayRun,
  type ReplayRunOptions,
  type RequestResult,
} from '../replay-run.js';

export default defineCommand({
  name: 'replay',
  summary: 'replay recorded requests against the app and compare every response and call (exit 0 all passed, 1 any failed)',
  usage: `<cassette-or-dir> [options] -- <command that starts the app>

Starts the app in replay mode (PORT set to a free port; the agent is loaded for it), sends every
recorded request again in recorded order, and compares each response (status, headers that do not
change on every run, the body field by field) and each dependency call with the recording. A call
the recording does not hold (a miss), or a recorded call the app no longer makes, fails its request.

Options:
  --port N        the port the app listens on, when it does not read PORT
  --ready URL     a URL that answers once the app is up (default: the first socket it listens on)
  --parallel N    requests in flight at once (default 1)
  --ignore FIELD  a field not to compare: a name at any depth, or a path as reported (body.id);
                  repeat it or separate names with commas. ${NOISE_FILE} beside the cassettes adds more
  --allow-unused  a recorded call the app no longer makes does not fail its request
  --out DIR       keep the run (its report.json and the replayed cassettes) there, instead of
                  in ${RUNS_FOLDER}/ in the cassette directory, where the dashboard shows it
  --update[=misses]
                  record the failing requests again against the live dependencies (the app
                  started in record mode), put the new cassettes in place of the old, say what
                  changed, and run the suite again; =misses: only the requests with misses
  --learn         replay everything twice and write the fields that differ between the two runs
                  of the same code (noise, not regressions) to ${NOISE_FILE} beside the cassettes,
                  for later runs to ignore; prints them, runs nothing else
  --json          print the results as JSON

Exit status: 0 every request passed, 1 any failed, 2 the run could not be made.`,
  options: {
    port: { type: 'string' },
    ready: { type: 'string' },
    parallel: { type: 'string' },
    ignore: { type: 'string', multiple: true },
    'allow-unused': { type: 'boolean' },
    out: { type: 'string' },
    learn: { type: 'boolean' },
    update: { type: 'string' },
    json: { type: 'boolean' },
  },
  argv(args) {
    // `--update` alone means every failing request; before `--`, the app's own arguments after it.
    const end = args.indexOf('--');
    return args.map((arg, i) => (arg === '--update' && (end < 0 || i < end) ? '--update=all' : arg));
  },
  async run(values, positionals) {
    const [cassettes, ...command] = positionals;
    if (!cassettes)
      throw new CliError('name a cassette file or directory, then the command that starts the app after --; see timetracer replay --help');
    if (!command.length)
      throw new CliError('name the command that starts the app after --, as in: timetracer replay cassettes -- node app.js');
    if (values.learn) return learn(cassettes, command, values);
    const update = values.update as string | undefined;
    if (update !== undefined && update !== 'all' && update !== 'misses')
      throw new CliError(`--update takes no value, or =misses; not ${JSON.stringify(update)}`);
    let noise: string[];
    let ignore: string[];
    let options: ReplayRunOptions;
    try {
      noise = noiseOf(cassettes);
      ignore = [...((values.ignore as string[] | undefined) ?? []).flatMap((entry) => entry.split(',')), ...noise];
      options = {
        cassettes,
        command,
        port: values.port === undefined ? undefined : integerOption(values.port, 'port', { min: 1, fallback: 0 }),
        ready: values.ready as string | undefined,
        parallel: integerOption(values.parallel, 'parallel', { min: 1, fallback: 1 }),
        ignore,
        allowUnused: values['allow-unused'] === true,
        out: values.out as string | undefined,
      };
    } catch (error) {
      if (error instanceof ReplayRunError) throw new CliError(error.message);
      throw error;
    }
    const startedAt = new Date();
    const runFolder = options.out ?? newRunFolder(cassetteRoot(cassettes), startedAt);
    let updated: Rerecorded[] | undefined;
    if (update) {
      // The run before the update is only there to find what is stale: its replays are not kept.
      const before = await suite({ ...options, out: undefined });
      const stale = before.results.filter(
        (result) => !result.passed && (update === 'all' || result.failures.some((d) => d.kind === 'call.added')),
      );
      updated = [];
      if (stale.length) {
        if (!values.json) report(before, cassettes, command, noise, terminalStyle());
        try {
          updated = await rerecord(
            options,
            stale.map(({ file, recorded }) => ({ file, cassette: recorded })),
          );
        } catch (error) {
          if (error instanceof ReplayRunError) throw new CliError(error.message);
          throw error;
        }
        if (!values.json)
          process.stdout.write(`\n${updateLines(updated, terminalStyle()).join('\n')}\n\nThe suite again, with the new recordings:\n`);
      }
    }
    const run = await suite({ ...options, out: runFolder });
    const result = buildReport(run, { startedAt, command, ignored: ignore, root: cassetteRoot(cassettes), runFolder, updated });
    const reportFile = writeReport(runFolder, result);
    if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      report(run, cassettes, command, noise, terminalStyle());
      process.stdout.write(
        `the run (report and replayed cassettes): ${displayPath(path.dirname(reportFile))}${values.out ? '' : `; timetracer serve --dir ${displayPath(cassetteRoot(cassettes))} shows it`}\n`,
      );
    }
    return result.failed ? 1 : 0;
  },
});

async function suite(options: ReplayRunOptions): Promise<ReplayRun> {
  try {
    return await runReplay(options);
  } catch (error) {
    if (error instanceof ReplayRunError) throw new CliError(error.message);
    throw error;
  }
}

function report(run: ReplayRun, cassettes: string, command: readonly string[], noise: readonly string[], style: Style): void {
  const failed = run.results.filter((result) => !result.passed).length;
  const lines = [
    `timetracer replay: ${run.results.length} recorded request(s) from ${displayPath(cassettes)}, the app started with: ${command.join(' ')}`,
  ];
  if (noise.length) lines.push(style.dim(`ignoring what ${NOISE_FILE} marks as noise: ${noise.join(', ')}`));
  if (run.liveSecrets)
    lines.push(
      style.dim(
        `${run.liveSecrets} secret(s) redacted when recorded were sent as the app answered them in this run (a login's token, a session cookie)`,
      ),
    );
  for (const result of run.results) lines.push(...resultLines(result, style));
  if (failed && run.appOutput.length)
    lines.push('', style.dim("the app's last lines:"), ...run.appOutput.map((line) => style.dim(`  ${line}`)));
  lines.push('', `${run.results.length - failed} passed, ${failed} failed`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** What `--update` did: each cassette recorded again, and what changed from the old recording. */
function updateLines(updated: readonly Rerecorded[], style: Style): string[] {
  const lines = [`Recorded again against the live dependencies: ${updated.length} cassette(s)`];
  for (const { old, file, changes } of updated) {
    lines.push(`  ${displayPath(old)} → ${displayPath(file)}`);
    if (!changes.length) lines.push(`        ${style.dim('the same as before')}`);
    for (const change of changes) lines.push(...differenceLines(change, style, { a: 'old', b: 'new' }).map((line) => `        ${line}`));
  }
  return lines;
}

/** `--learn`: the noise two replays of the same code show, written beside the cassettes. */
async function learn(cassettes: string, command: string[], values: Record<string, unknown>): Promise<number> {
  let fields: string[];
  try {
    fields = await learnNoise({
      cassettes,
      command,
      port: values.port === undefined ? undefined : integerOption(values.port, 'port', { min: 1, fallback: 0 }),
      ready: values.ready as string | undefined,
      parallel: integerOption(values.parallel, 'parallel', { min: 1, fallback: 1 }),
    });
  } catch (error) {
    if (error instanceof ReplayRunError) throw new CliError(error.message);
    throw error;
  }
  const file = noiseFileOf(cassettes);
  fs.writeFileSync(
    file,
    `${JSON.stringify({ ignore: fields, learned_at: new Date().toISOString(), how: 'fields that differed between two replays of the same code' }, null, 2)}\n`,
  );
  if (values.json) process.stdout.write(`${JSON.stringify({ file, ignore: fields }, null, 2)}\n`);
  else if (fields.length)
    process.stdout.write(
      `${fields.length} field(s) differed between two replays of the same code, now ignored by later runs (${displayPath(file)}):\n${fields.map((field) => `  ${field}`).join('\n')}\n`,
    );
  else process.stdout.write(`No noise: two replays of the same code answered alike, call for call (${displayPath(file)} lists nothing).\n`);
  return 0;
}

function statusOf(cassette: Cassette | undefined): number | undefined {
  return cassette?.response.status;
}

function resultLines(result: RequestResult, style: Style): string[] {
  const { recorded, replayed } = result;
  const statuses =
    replayed && statusOf(replayed) !== statusOf(recorded)
      ? `${formatStatus(recorded.response.status, style)} → ${formatStatus(replayed.response.status, style)}`
      : formatStatus(recorded.response.status, style);
  const head = `  ${result.passed ? style.green('PASS') : style.red('FAIL')}  ${requestLine(recorded.request)}  ${statuses}`;
  if (result.passed) return [head];
  const details = result.problem
    ? [style.red(result.problem)]
    : result.failures.flatMap((difference) => failureLines(difference, replayed, style));
  return [head, ...details.map((line) => `        ${line}`), `        ${style.dim(`recorded: ${displayPath(result.file)}`)}`];
}

/** A failure; a call the recording does not hold shows why it missed (the nearest recorded call). */
function failureLines(difference: Difference, replayed: Cassette | undefined, style: Style): string[] {
  const lines = differenceLines(difference, style, REPLAY_SIDES);
  if (difference.kind === 'call.added') {
    const miss = replayed?.events.find((event) => event.eid === difference.eid)?.error;
    if (miss) lines.push(`    ${style.dim(miss.message.replace(/^timetracer: /, ''))}`);
  }
  return lines;
}
