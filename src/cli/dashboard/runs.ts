/**
 * The replay runs kept beside the recordings (`<dir>/.timetracer-runs/<time>/`): the finished ones
 * (a folder with a report.json; one without is a run still going, or one that died), each run's
 * report with its differences written out as the CLI prints them, and the cassettes it replayed.
 * A run is asked for by its folder's name among those listed, and a replayed cassette by its name
 * in that run's report: what a client sends is a key to look up, never a path to open.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Difference } from '../compare.js';
import { differenceLines, PLAIN_STYLE, REPLAY_SIDES } from '../format.js';
import { REPORT_FILE, RUNS_FOLDER, type ReplayReport } from '../replay-report.js';
import { ApiError } from './api-error.js';
import { withCassette } from './api.js';
import { readInside } from './read-inside.js';
import { isReplayReport } from './report-check.js';

export interface RunSummary {
  /** The run folder's name. */
  id: string;
  started_at: string;
  finished_at: string;
  passed: number;
  failed: number;
  command: string[];
}

export interface RunList {
  dir: string;
  /** Newest first. */
  runs: RunSummary[];
}

/** A difference as lines, the way `timetracer replay` prints it, with its kind to colour it by. */
export interface ShownDifference {
  kind: Difference['kind'];
  lines: string[];
}

export interface RunDetail {
  id: string;
  /** report.json as written. */
  report: ReplayReport;
  /** The report's differences as lines: one entry per result, and per re-recorded cassette. */
  shown: {
    results: Array<{ failures: ShownDifference[]; allowed: ShownDifference[] }>;
    updated: ShownDifference[][];
  };
}

interface CachedReport {
  /** The report file's identity when read: a new run written under the same name reads anew. */
  stamp: string;
  report: ReplayReport | undefined;
}

export class RunCatalog {
  private readonly reports = new Map<string, CachedReport>();

  /** `dir`: the cassette directory, as given to `serve`. */
  constructor(private readonly dir: string) {}

  /** `GET /api/runs`. */
  list(): RunList {
    const runs = [...this.finished()].map(
      ([id, report]): RunSummary => ({
        id,
        started_at: report.started_at,
        finished_at: report.finished_at,
        passed: report.passed,
        failed: report.failed,
        command: report.command,
      }),
    );
    runs.sort((a, b) => (a.started_at === b.started_at ? compareText(b.id, a.id) : compareText(b.started_at, a.started_at)));
    return { dir: this.dir, runs };
  }

  /** `GET /api/runs/:id`. */
  detail(id: string): RunDetail {
    const report = this.report(id);
    return {
      id,
      report,
      shown: {
        results: report.results.map((result) => ({ failures: shown(result.failures), allowed: shown(result.allowed) })),
        updated: (report.updated ?? []).map((update) => shown(update.changes, { a: 'old', b: 'new' })),
      },
    };
  }

  /**
   * `GET /api/runs/:id/replayed/<file>`, `file` as the report names it (relative to the run
   * folder): `{"file":..,"run":..,"recorded":<the recorded cassette's key>,"cassette":<its JSON>}`.
   */
  replayed(id: string, file: string): string {
    const result = this.report(id).results.find((candidate) => candidate.replayed === file);
    if (!result) throw new ApiError(404, 'no such replayed cassette in this run');
    const text = readInside(this.dir, `${RUNS_FOLDER}/${id}/${file}`, 'replayed cassette');
    return withCassette({ file, run: id, recorded: result.file }, text);
  }

  private report(id: string): ReplayReport {
    const report = this.finished().get(id);
    if (!report) throw new ApiError(404, 'no such run');
    return report;
  }

  /** The finished runs' reports by folder name; a report is read again only when its file changed. */
  private finished(): Map<string, ReplayReport> {
    const found = new Map<string, ReplayReport>();
    for (const id of this.runFolders()) {
      const relative = `${RUNS_FOLDER}/${id}/${REPORT_FILE}`;
      const stat = lstat(path.join(this.dir, relative));
      if (!stat?.isFile()) continue;
      const stamp = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
      let cached = this.reports.get(id);
      if (cached?.stamp !== stamp) this.reports.set(id, (cached = { stamp, report: readReport(this.dir, relative) }));
      if (cached.report) found.set(id, cached.report);
    }
    for (const id of this.reports.keys()) if (!found.has(id)) this.reports.delete(id);
    return found;
  }

  /** The folders (never links) in the runs folder, itself a folder and not a link. */
  private runFolders(): string[] {
    const runs = path.join(this.dir, RUNS_FOLDER);
    if (!lstat(runs)?.isDirectory()) return [];
    try {
      return fs
        .readdirSync(runs, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name);
    } catch {
      return [];
    }
  }
}

function shown(differences: readonly Difference[], sides: { a: string; b: string } = REPLAY_SIDES): ShownDifference[] {
  return differences.map((difference) => ({ kind: difference.kind, lines: differenceLines(difference, PLAIN_STYLE, sides) }));
}

/** The report, or undefined when it cannot be read or is not one `timetracer replay` wrote. */
function readReport(dir: string, relative: string): ReplayReport | undefined {
  try {
    const report: unknown = JSON.parse(readInside(dir, relative, 'run report'));
    return isReplayReport(report) ? report : undefined;
  } catch {
    return undefined;
  }
}

function lstat(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
