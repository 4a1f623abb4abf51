/**
 * What a directory of cassettes holds, one summary per cassette, for `timetracer list` and the
 * dashboard. Cassettes are written once and never changed, so a summary read once stays true:
 * summaries are kept in a cache file in the directory, and each refresh reads only the files
 * that are new. A directory of 100,000 cassettes is listed without reading 100,000 files again.
 * Only regular files inside the directory are read: symbolic links are never followed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isCassetteFile, isCassetteFolder, isProcessCassetteFile } from '../cassette/names.js';
import { isSegmentFile, readSegmentEntries, segmentRef } from '../cassette/segment.js';
import { isSummary, readSummaries, type CassetteSummary } from './summaries.js';

export interface CatalogQuery {
  /** Text found in the method, path, route, status or file. */
  text?: string;
  method?: string;
  /** `5xx`, `404`, `2xx`, or `error` for every failure. */
  status?: string;
  /** Only cassettes recorded at or after this time. */
  since?: Date;
  /** Only the requests of this OpenTelemetry trace (its id as Jaeger or Tempo shows it). */
  trace?: string;
  offset?: number;
  limit?: number;
}

export interface CatalogPage {
  /** Cassettes in the directory. */
  total: number;
  /** Cassettes the query matched. */
  matched: number;
  items: CassetteSummary[];
}

export const CACHE_FILE = '.timetracer-catalog.jsonl';

/**
 * A trace id as compared: lower case, without leading zeros, since some tools show a 64-bit trace
 * id in 16 digits where OpenTelemetry writes 32.
 */
function traceKey(id: string): string {
  return id.trim().toLowerCase().replace(/^0+/, '');
}

/** `5xx` -> 500..599, `404` -> 404, `error` -> failures. */
export function statusMatcher(spec: string): ((summary: CassetteSummary) => boolean) | undefined {
  const wanted = spec.trim().toLowerCase();
  if (wanted === 'error' || wanted === 'errors') return (s) => s.failed;
  const range = /^([1-5])xx$/.exec(wanted);
  if (range) return (s) => Math.floor(s.status / 100) === Number(range[1]);
  if (/^\d{3}$/.test(wanted)) return (s) => s.status === Number(wanted);
  if (wanted === 'none' || wanted === '0') return (s) => s.status === 0 && s.kind !== 'process';
  return undefined;
}

export class CassetteCatalog {
  /** Newest first. */
  private summaries: CassetteSummary[] = [];
  private readonly byFile = new Map<string, CassetteSummary>();
  /** Every folder below the directory as last read, by relative path ('' for the directory itself). */
  private readonly folders = new Map<string, FolderListing>();
  /** Each segment's size and cassettes as last read, by relative path: a segment grows without its folder changing. */
  private readonly segments = new Map<string, { size: number; refs: string[] }>();
  private refreshed = false;
  private readonly searchTexts = new WeakMap<CassetteSummary, string>();
  /** Files that could not be read, and why. */
  readonly unreadable = new Map<string, string>();

  constructor(readonly dir: string) {}

  /**
   * Reads what is new in the directory and forgets what is gone; returns how many cassettes came
   * and went. Only folders whose modification time changed are listed again, so refreshing a
   * directory of 100,000 cassettes where nothing happened costs a stat per folder.
   */
  refresh(): { added: number; removed: number } {
    const cached = this.refreshed ? undefined : readCache(this.cachePath());
    this.refreshed = true;
    const changes: FolderChanges = { added: [], removed: [] };
    this.walk('', changes);

    const added: CassetteSummary[] = [];
    const toRead: string[] = [];
    for (const file of changes.added) {
      const known = cached?.summaries.get(file);
      // A process cassette is written again as its process runs: it is always read afresh.
      if (known && !isProcessCassetteFile(file)) added.push(known);
      else toRead.push(file);
    }
    const rewritten = this.summaries.filter((s) => s.kind === 'process' && !changes.removed.includes(s.file)).map((s) => s.file);
    const { summaries: newlyRead, unreadable } = readSummaries(this.dir, [...toRead, ...rewritten]);
    const again = new Map(newlyRead.filter((s) => rewritten.includes(s.file)).map((s) => [s.file, s]));
    if (again.size) this.summaries = this.summaries.map((s) => again.get(s.file) ?? s);
    for (const summary of again.values()) this.byFile.set(summary.file, summary);
    for (const summary of newlyRead) if (!again.has(summary.file)) added.push(summary);
    for (const [file, problem] of unreadable) this.unreadable.set(file, problem);
    let removed = 0;
    for (const file of changes.removed) {
      if (this.byFile.delete(file)) removed++;
      this.unreadable.delete(file);
    }
    for (const summary of added) this.byFile.set(summary.file, summary);
    if (added.length || removed) {
      const kept = removed ? this.summaries.filter((s) => this.byFile.get(s.file) === s) : this.summaries;
      this.summaries = mergeNewestFirst(kept, added.sort(newestFirst));
    }
    // Cache lines for cassettes no longer there are dropped by writing the cache anew.
    const staleCacheLines = cached !== undefined && (cached.outdated || cached.summaries.size > added.length - newlyRead.length);
    this.saveCache(newlyRead, removed > 0 || staleCacheLines);
    return { added: added.length, removed };
  }

  get size(): number {
    return this.summaries.length;
  }

  /** Request cassettes: how many, how many succeeded and failed (process cassettes are not requests). */
  totals(): { requests: number; success: number; errors: number } {
    const requests = this.summaries.filter((s) => s.kind !== 'process');
    const errors = requests.reduce((n, s) => n + (s.failed ? 1 : 0), 0);
    return { requests: requests.length, success: requests.length - errors, errors };
  }

  query(query: CatalogQuery): CatalogPage {
    const text = query.text?.trim().toLowerCase();
    const method = query.method?.trim().toUpperCase();
    const status = query.status ? statusMatcher(query.status) : undefined;
    const since = query.since?.toISOString();
    const trace = query.trace === undefined ? undefined : traceKey(query.trace);
    const matches = (s: CassetteSummary): boolean =>
      (trace === undefined || (s.trace_id !== null && traceKey(s.trace_id) === trace)) &&
      (!method || s.method === method) &&
      (!status || status(s)) &&
      (!since || s.recorded_at >= since) &&
      (!text || this.searchText(s).includes(text));
    const offset = Math.max(0, query.offset ?? 0);
    const limit = Math.max(0, query.limit ?? 50);
    const items: CassetteSummary[] = [];
    let matched = 0;
    for (const summary of this.summaries) {
      if (!matches(summary)) continue;
      if (matched >= offset && items.length < limit) items.push(summary);
      matched++;
    }
    return { total: this.summaries.length, matched, items };
  }

  /** What text search looks in, lower-cased; kept, since a search box asks again at each key. */
  private searchText(summary: CassetteSummary): string {
    let text = this.searchTexts.get(summary);
    if (text === undefined) {
      text =
        `${summary.method} ${summary.path} ${summary.route ?? ''} ${summary.status} ${summary.id} ${summary.file} ${summary.trace_id ?? ''}`.toLowerCase();
      this.searchTexts.set(summary, text);
    }
    return text;
  }

  /** The cassette with this id, or at this relative path; undefined if the directory has none. */
  find(idOrFile: string): CassetteSummary | undefined {
    return this.byFile.get(idOrFile) ?? this.summaries.find((s) => s.id === idOrFile);
  }

  /** The absolute path of a cassette the catalog holds (never anything else). */
  pathOf(summary: CassetteSummary): string {
    return path.join(this.dir, summary.file);
  }

  private cachePath(): string {
    return path.join(this.dir, CACHE_FILE);
  }

  /** Lists `folder` again if it changed, notes what came and went, and does the same below it. */
  private walk(folder: string, changes: FolderChanges): void {
    const before = this.folders.get(folder);
    let listing = before;
    const mtimeMs = folderMtime(path.join(this.dir, folder));
    if (!before || mtimeMs === undefined || mtimeMs !== before.mtimeMs || before.readAtMs - mtimeMs < SAME_INSTANT_MS) {
      listing = readFolder(this.dir, folder, mtimeMs);
      this.folders.set(folder, listing);
      const had = new Set(before?.files);
      const has = new Set(listing.files);
      for (const file of listing.files) if (!had.has(file)) changes.added.push(file);
      for (const file of had) if (!has.has(file)) changes.removed.push(file);
      const hasSegments = new Set(listing.segments);
      this.forgetSegments(before?.segments.filter((segment) => !hasSegments.has(segment)) ?? [], changes);
      const hasFolders = new Set(listing.folders);
      for (const gone of before?.folders ?? []) if (!hasFolders.has(gone)) this.forget(gone, changes);
    }
    for (const segment of listing!.segments) this.readSegment(segment, changes);
    for (const sub of listing!.folders) this.walk(sub, changes);
  }

  /** Notes the cassettes a segment holds that were not there when it was last read. */
  private readSegment(segment: string, changes: FolderChanges): void {
    const file = path.join(this.dir, segment);
    const size = fs.statSync(file, { throwIfNoEntry: false })?.size;
    const before = this.segments.get(segment);
    if (size === undefined || size === before?.size) return;
    let refs: string[];
    try {
      refs = readSegmentEntries(file).map((entry) => segmentRef(segment, entry.offset));
    } catch (error) {
      this.unreadable.set(segment, `${file} cannot be read (${(error as Error).message})`);
      return;
    }
    const had = new Set(before?.refs);
    for (const ref of refs) if (!had.has(ref)) changes.added.push(ref);
    this.segments.set(segment, { size, refs });
  }

  /** A folder that went away: everything below it went too. */
  private forget(folder: string, changes: FolderChanges): void {
    const listing = this.folders.get(folder);
    if (!listing) return;
    this.folders.delete(folder);
    for (const file of listing.files) changes.removed.push(file);
    this.forgetSegments(listing.segments, changes);
    for (const sub of listing.folders) this.forget(sub, changes);
  }

  private forgetSegments(segments: readonly string[], changes: FolderChanges): void {
    for (const segment of segments) {
      for (const ref of this.segments.get(segment)?.refs ?? []) changes.removed.push(ref);
      this.segments.delete(segment);
    }
  }

  /**
   * Appends what is new; writes the whole cache again when cassettes went away. Best effort.
   * Process cassettes are left out: they change, and are read afresh each time.
   */
  private saveCache(read: CassetteSummary[], rewrite: boolean): void {
    const added = read.filter((s) => s.kind !== 'process');
    try {
      if (rewrite) {
        const temp = `${this.cachePath()}.${process.pid}.tmp`;
        fs.writeFileSync(
          temp,
          this.summaries
            .filter((s) => s.kind !== 'process')
            .map((s) => `${JSON.stringify(s)}\n`)
            .join(''),
        );
        fs.renameSync(temp, this.cachePath());
      } else if (added.length) {
        fs.appendFileSync(this.cachePath(), added.map((s) => `${JSON.stringify(s)}\n`).join(''));
      }
    } catch {
      // A read-only directory: the catalog lives in memory only.
    }
  }
}

/**
 * Folder times have a granularity (up to seconds on some file systems): a folder changed within
 * this long of being listed may have changed again unseen in the same tick, so it is listed again.
 */
const SAME_INSTANT_MS = 2_000;

/** A folder's entries as last read: while its modification time stays the same, so do they. */
interface FolderListing {
  /** undefined: the folder could not be read (gone, or not allowed), so it is tried again each time. */
  mtimeMs: number | undefined;
  readAtMs: number;
  /** Cassette files directly in it, relative to the catalog's directory. */
  files: string[];
  /** Folders directly in it, relative to the catalog's directory. */
  folders: string[];
  /** Segment files directly in it, relative to the catalog's directory. */
  segments: string[];
}

interface FolderChanges {
  added: string[];
  removed: string[];
}

function folderMtime(folder: string): number | undefined {
  return fs.statSync(folder, { throwIfNoEntry: false })?.mtimeMs;
}

/** Regular files and folders only: symbolic links are never followed. */
function readFolder(root: string, folder: string, mtimeMs: number | undefined): FolderListing {
  const listing: FolderListing = { mtimeMs, readAtMs: Date.now(), files: [], folders: [], segments: [] };
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.join(root, folder), { withFileTypes: true });
  } catch {
    return { ...listing, mtimeMs: undefined };
  }
  for (const entry of entries) {
    const relative = folder ? `${folder}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (isCassetteFolder(entry.name)) listing.folders.push(relative);
    } else if (entry.isFile() && isCassetteFile(entry.name)) listing.files.push(relative);
    else if (entry.isFile() && isSegmentFile(entry.name)) listing.segments.push(relative);
  }
  return listing;
}

/**
 * The cache file's summaries by file (none when there is no file), and whether it holds lines
 * this version does not use (written by an older timetracer, or cut short): then it is written anew.
 */
function readCache(file: string): { summaries: Map<string, CassetteSummary>; outdated: boolean } {
  const cache = { summaries: new Map<string, CassetteSummary>(), outdated: false };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return cache;
  }
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const summary: unknown = JSON.parse(line);
      if (isSummary(summary)) cache.summaries.set(summary.file, summary);
      else cache.outdated = true;
    } catch {
      // A line cut short by a crash: that cassette is read again.
      cache.outdated = true;
    }
  }
  return cache;
}

function newestFirst(a: CassetteSummary, b: CassetteSummary): number {
  return a.recorded_at < b.recorded_at ? 1 : a.recorded_at > b.recorded_at ? -1 : a.file < b.file ? 1 : -1;
}

/** Two lists sorted newest first, as one. */
function mergeNewestFirst(a: readonly CassetteSummary[], b: readonly CassetteSummary[]): CassetteSummary[] {
  if (!b.length) return [...a];
  if (!a.length) return [...b];
  const merged: CassetteSummary[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) merged.push(newestFirst(a[i]!, b[j]!) <= 0 ? a[i++]! : b[j++]!);
  while (i < a.length) merged.push(a[i++]!);
  while (j < b.length) merged.push(b[j++]!);
  return merged;
}
