/**
 * `timetracer prune`: deletes old cassettes. Only cassette files and segments the directory's
 * catalog lists are candidates (a segment goes whole, once every cassette in it is to go) (regular files, never reached through a symbolic link), and each is checked
 * again just before it goes: anything else in the directory is left alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CassetteSummary } from '../../catalog/summaries.js';
import { isCassetteFile } from '../../cassette/names.js';
import { indexFileOf, isSegmentFile, splitSegmentRef } from '../../cassette/segment.js';
import { CliError, defineCommand, integerOption, parseDuration } from '../command.js';
import { openCatalog } from './list.js';

export default defineCommand({
  name: 'prune',
  summary: 'delete cassettes older than a duration, or all but the newest N',
  usage: `--older-than 7d | --keep N [--dry-run] [--dir D] [--json]

Deletes cassettes recorded (session.recorded_at) before now minus the duration, or all but the
newest N, and the date folders left empty. A segment file (TIMETRACER_LAYOUT=segments) goes
whole with its index, once every cassette in it is to go; until then its cassettes are kept.
Nothing else in the directory is touched: not other files, not the catalog cache, nothing behind
a symbolic link.

Options:
  --older-than T delete cassettes recorded more than T ago (30m, 12h, 7d, 2w)
  --keep N       keep the newest N cassettes, delete the rest
  --dry-run      list what would be deleted, delete nothing
  --dir D        the cassette directory (default: TIMETRACER_DIR or ./cassettes)
  --json         print {"removed": [files], "kept", "dry_run"} instead of lines`,
  options: {
    'older-than': { type: 'string' },
    keep: { type: 'string' },
    'dry-run': { type: 'boolean' },
    dir: { type: 'string' },
    json: { type: 'boolean' },
  },
  run(values) {
    const olderThan = values['older-than'] as string | undefined;
    if ((olderThan === undefined) === (values.keep === undefined))
      throw new CliError('give exactly one of --older-than T and --keep N; see timetracer prune --help');
    const catalog = openCatalog(values.dir as string | undefined);
    const all = catalog.query({ limit: Number.POSITIVE_INFINITY }).items;
    const doomed =
      olderThan === undefined ? all.slice(integerOption(values.keep, 'keep', { fallback: 0 })) : recordedBefore(all, cutoff(olderThan));
    const dryRun = values['dry-run'] === true;
    const { whole, held } = wholeSegments(all, doomed);
    const removable = doomed.filter((summary) => !held.has(summary));
    const removed = dryRun ? removable : removeAll(catalog.dir, removable, whole);
    // The catalog cache forgets what is gone now rather than at the next listing.
    if (!dryRun && removed.length) catalog.refresh();
    const kept = all.length - removed.length;
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ removed: removed.map((s) => s.file), kept, dry_run: dryRun }, null, 2)}\n`);
      return 0;
    }
    for (const summary of removed) process.stdout.write(`${dryRun ? 'would remove' : 'removed'} ${summary.file}\n`);
    const count = `${removed.length} cassette${removed.length === 1 ? '' : 's'}`;
    process.stdout.write(
      dryRun
        ? `Would remove ${count} from ${catalog.dir} (dry run: nothing deleted), keeping ${kept}\n`
        : `Removed ${count} from ${catalog.dir}, kept ${kept}\n`,
    );
    if (held.size)
      process.stdout.write(
        `${held.size} of them ${dryRun ? 'would be' : 'were'} kept: they are in segments that hold newer cassettes (a segment goes whole)\n`,
      );
    for (const [file, problem] of catalog.unreadable) process.stderr.write(`timetracer prune: left ${file} alone: ${problem}\n`);
    return 0;
  },
});

function cutoff(text: string): number {
  const duration = parseDuration(text);
  if (duration === undefined) throw new CliError(`--older-than must be a duration (30m, 12h, 7d, 2w), not ${JSON.stringify(text)}`);
  return Date.now() - duration;
}

/** Cassettes recorded before `time`; one whose time cannot be read is kept, never guessed at. */
function recordedBefore(summaries: readonly CassetteSummary[], time: number): CassetteSummary[] {
  return summaries.filter((summary) => Date.parse(summary.recorded_at) < time);
}

/**
 * The segments every cassette of which is to go (each goes whole, with its index), and the
 * cassettes to keep because their segment holds one that stays.
 */
function wholeSegments(all: readonly CassetteSummary[], doomed: readonly CassetteSummary[]) {
  const segmentOf = (summary: CassetteSummary): string | undefined => splitSegmentRef(summary.file)?.segment;
  const going = new Set(doomed);
  const staying = new Set(all.filter((summary) => !going.has(summary)).map(segmentOf));
  const whole = new Set<string>();
  const held = new Set<CassetteSummary>();
  for (const summary of doomed) {
    const segment = segmentOf(summary);
    if (segment === undefined) continue;
    if (staying.has(segment)) held.add(summary);
    else whole.add(segment);
  }
  return { whole, held };
}

/** Deletes the cassette files and the whole segments; returns the cassettes gone. */
function removeAll(dir: string, summaries: readonly CassetteSummary[], segments: ReadonlySet<string>): CassetteSummary[] {
  const segmentsGone = new Set([...segments].filter((segment) => remove(dir, segment, isSegmentFile, [indexFileOf(segment)])));
  return summaries.filter((summary) => {
    const segment = splitSegmentRef(summary.file)?.segment;
    return segment === undefined ? remove(dir, summary.file, isCassetteFile) : segmentsGone.has(segment);
  });
}

/**
 * Deletes one file (and `along` with it) if it is still a regular file of the kind `isKind` inside
 * the directory, then the folders it leaves empty up to the directory itself. False when it was
 * not deleted.
 */
function remove(dir: string, relative: string, isKind: (file: string) => boolean, along: string[] = []): boolean {
  const root = path.resolve(dir);
  const file = path.resolve(root, relative);
  const inside = path.relative(root, file);
  if (!inside || inside.startsWith('..') || path.isAbsolute(inside) || !isKind(path.basename(file))) return false;
  try {
    if (!fs.lstatSync(file).isFile() || hasLinkBetween(root, path.dirname(file))) return false;
    fs.unlinkSync(file);
    for (const other of along) fs.rmSync(path.resolve(root, other), { force: true });
  } catch (error) {
    process.stderr.write(`timetracer prune: could not remove ${relative}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`);
    return false;
  }
  for (let folder = path.dirname(file); folder !== root; folder = path.dirname(folder)) {
    try {
      fs.rmdirSync(folder);
    } catch {
      break; // Not empty: other cassettes or other files live there.
    }
  }
  return true;
}

/** Whether any folder from `root` (exclusive) down to `folder` is a symbolic link. */
function hasLinkBetween(root: string, folder: string): boolean {
  for (let at = folder; at !== root && at.startsWith(root); at = path.dirname(at)) {
    if (fs.lstatSync(at).isSymbolicLink()) return true;
  }
  return false;
}
