/**
 * `timetracer prune`: deletes old cassettes. Only cassette files the directory's catalog lists
 * are candidates (regular files, never reached through a symbolic link), and each is checked
 * again just before it goes: anything else in the directory is left alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CassetteSummary } from '../../catalog/summaries.js';
import { isCassetteFile } from '../../cassette/store.js';
import { CliError, defineCommand, integerOption, parseDuration } from '../command.js';
import { openCatalog } from './list.js';

export default defineCommand({
  name: 'prune',
  summary: 'delete cassettes older than a duration, or all but the newest N',
  usage: `--older-than 7d | --keep N [--dry-run] [--dir D] [--json]

Deletes cassettes recorded (session.recorded_at) before now minus the duration, or all but the
newest N, and the date folders left empty. Nothing else in the directory is touched: not other
files, not the catalog cache, nothing behind a symbolic link.

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
    const removed = dryRun ? doomed : doomed.filter((summary) => remove(catalog.dir, summary));
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
 * Deletes one cassette, if it is still a regular cassette file inside the directory, then the
 * folders it leaves empty up to the directory itself. False when it was not deleted.
 */
function remove(dir: string, summary: CassetteSummary): boolean {
  const root = path.resolve(dir);
  const file = path.resolve(root, summary.file);
  const inside = path.relative(root, file);
  if (!inside || inside.startsWith('..') || path.isAbsolute(inside) || !isCassetteFile(file)) return false;
  try {
    if (!fs.lstatSync(file).isFile() || hasLinkBetween(root, path.dirname(file))) return false;
    fs.unlinkSync(file);
  } catch (error) {
    process.stderr.write(`timetracer prune: could not remove ${summary.file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`);
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
