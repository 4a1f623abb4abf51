/**
 * A replay run's report: what `timetracer replay --json` prints, and what each run leaves in its
 * run folder (beside the replayed cassettes) for the dashboard to open next to the recordings.
 */
import fs from 'node:fs';
import path from 'node:path';
import { requestLine, type Difference } from './compare.js';
import type { Rerecorded, ReplayRun, RequestResult } from './replay-run.js';
import { makeDirsSync } from '../dirs.js';

/** Where runs are kept, inside the cassette directory: listings of cassettes never look in it. */
export const RUNS_FOLDER = '.timetracer-runs';
export const REPORT_FILE = 'report.json';
/** Runs kept in RUNS_FOLDER; older ones are removed as new ones are written. */
const KEPT_RUNS = 20;

export interface ReplayReport {
  started_at: string;
  finished_at: string;
  /** The command that started the app. */
  command: string[];
  /** Fields not compared: `--ignore` and the noise file's. */
  ignored: string[];
  passed: number;
  failed: number;
  /** Secrets redacted when recorded (linked) that requests were sent as the app answered them in this run. */
  live_secrets: number;
  /** `--update`: the cassettes recorded again before this run, relative to the cassette directory. */
  updated?: Array<{ old: string; file: string; changes: Difference[] }>;
  results: ResultReport[];
}

export interface ResultReport {
  /** The recorded cassette, relative to the cassette directory (its key in the dashboard). */
  file: string;
  /** The replayed cassette, relative to the run folder; null when none was written. */
  replayed: string | null;
  request: string;
  method: string;
  route: string | null;
  status: { recorded: number; replayed: number | null };
  duration_ms: { recorded: number; replayed: number | null };
  passed: boolean;
  /** Why the request could not be replayed at all. */
  problem?: string;
  failures: Difference[];
  /** Differences that did not count (`--allow-unused`). */
  allowed: Difference[];
  /** The calls the recording did not hold, each with why it missed (the nearest recorded call). */
  misses: Array<{ eid: number; call: string; reason: string }>;
}

export interface ReportContext {
  startedAt: Date;
  command: readonly string[];
  ignored: readonly string[];
  /** The cassette directory (recorded files are named relative to it). */
  root: string;
  /** The run folder (replayed files are named relative to it). */
  runFolder: string;
  updated?: readonly Rerecorded[];
}

export function buildReport(run: ReplayRun, context: ReportContext): ReplayReport {
  const failed = run.results.filter((result) => !result.passed).length;
  const relative = (from: string, file: string): string => path.relative(from, file).split(path.sep).join('/');
  return {
    started_at: context.startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    command: [...context.command],
    ignored: [...context.ignored],
    passed: run.results.length - failed,
    failed,
    live_secrets: run.liveSecrets,
    ...(context.updated && {
      updated: context.updated.map(({ old, file, changes }) => ({
        old: relative(context.root, old),
        file: relative(context.root, file),
        changes,
      })),
    }),
    results: run.results.map((result) =>
      resultReport(
        result,
        (file) => relative(context.root, file),
        (file) => relative(context.runFolder, file),
      ),
    ),
  };
}

function resultReport(result: RequestResult, recordedName: (file: string) => string, replayedName: (file: string) => string): ResultReport {
  const { recorded, replayed } = result;
  return {
    file: recordedName(result.file),
    replayed: result.replayedFile ? replayedName(result.replayedFile) : null,
    request: requestLine(recorded.request),
    method: recorded.request.method,
    route: recorded.request.route ?? null,
    status: { recorded: recorded.response.status, replayed: replayed?.response.status ?? null },
    duration_ms: { recorded: recorded.response.duration_ms, replayed: replayed?.response.duration_ms ?? null },
    passed: result.passed,
    ...(result.problem && { problem: result.problem }),
    failures: result.failures,
    allowed: result.allowed,
    misses: result.failures.flatMap((difference) => {
      if (difference.kind !== 'call.added') return [];
      const error = replayed?.events.find((event) => event.eid === difference.eid)?.error;
      return error ? [{ eid: difference.eid, call: difference.call, reason: error.message.replace(/^timetracer: /, '') }] : [];
    }),
  };
}

/** A new run folder in the cassette directory's RUNS_FOLDER, named by its time; the oldest beyond KEPT_RUNS go. */
export function newRunFolder(root: string, startedAt: Date): string {
  const runs = path.join(root, RUNS_FOLDER);
  makeDirsSync(runs);
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  let folder = path.join(runs, stamp);
  for (let n = 2; fs.existsSync(folder); n++) folder = path.join(runs, `${stamp}-${n}`);
  fs.mkdirSync(folder);
  const older = fs
    .readdirSync(runs, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  for (const name of older.slice(0, Math.max(0, older.length - KEPT_RUNS)))
    fs.rmSync(path.join(runs, name), { recursive: true, force: true });
  return folder;
}

/** Written last, whole (temporary file and rename): a run folder with a report is a finished run. */
export function writeReport(runFolder: string, report: ReplayReport): string {
  const file = path.join(runFolder, REPORT_FILE);
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(report, null, 2)}\n`);
  fs.renameSync(temporary, file);
  return file;
}
