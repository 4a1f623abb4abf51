/**
 * What a directory of cassettes holds, one summary per cassette, for `timetracer list` and the
 * dashboard. Cassettes are written once and never changed, so a summary read once stays true:
 * summaries are kept in a cache file in the directory, and each refresh reads only the files
 * that are new. A directory of 100,000 cassettes is listed without reading 100,000 files again.
 * Only regular files inside the directory are read: symbolic links are never followed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isFailure } from '../cassette/failure.js';
import type { Cassette, EventType } from '../cassette/schema.js';
import { CorruptCassetteError, listCassetteFilesSync, readCassetteFileSync } from '../cassette/store.js';

export interface CassetteSummary {
  id: string;
  /** Path relative to the directory, with `/` separators. */
  file: string;
  recorded_at: string;
  method: string;
  path: string;
  route: string | null;
  status: number;
  duration_ms: number;
  events: Partial<Record<EventType, number>>;
  failed: boolean;
  service: string;
  /** The app's main script, for the replay command. */
  entry: string | null;
}

export interface CatalogQuery {
  /** Text found in the method, path, route, status or file. */
  text?: string;
  method?: string;
  /** `5xx`, `404`, `2xx`, or `error` for every failure. */
  status?: string;
  /** Only cassettes recorded at or after this time. */
  since?: Date;
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

export function summarise(cassette: Cassette, file: string): CassetteSummary {
  return {
    id: cassette.session.id,
    file,
    recorded_at: cassette.session.recorded_at,
    method: cassette.request.method,
    path: cassette.request.path,
    route: cassette.request.route ?? null,
    status: cassette.response.status,
    duration_ms: cassette.response.duration_ms,
    events: cassette.stats?.event_counts ?? {},
    failed: isFailure(cassette),
    service: cassette.session.service,
    entry: cassette.session.entry ?? null,
  };
}

/** `5xx` -> 500..599, `404` -> 404, `error` -> failures. */
export function statusMatcher(spec: string): ((summary: CassetteSummary) => boolean) | undefined {
  const wanted = spec.trim().toLowerCase();
  if (wanted === 'error' || wanted === 'errors') return (s) => s.failed;
  const range = /^([1-5])xx$/.exec(wanted);
  if (range) return (s) => Math.floor(s.status / 100) === Number(range[1]);
  if (/^\d{3}$/.test(wanted)) return (s) => s.status === Number(wanted);
  if (wanted === 'none' || wanted === '0') return (s) => s.status === 0;
  return undefined;
}

export class CassetteCatalog {
  /** Newest first. */
  private summaries: CassetteSummary[] = [];
  private readonly byFile = new Map<string, CassetteSummary>();
  private cacheLoaded = false;
  /** Files that could not be read, and why. */
  readonly unreadable = new Map<string, string>();

  constructor(readonly dir: string) {}

  /** Reads what is new in the directory and forgets what is gone; returns the counts. */
  refresh(): { added: number; removed: number } {
    if (!this.cacheLoaded) this.loadCache();
    const present = new Set(listFiles(this.dir));
    const added: CassetteSummary[] = [];
    for (const file of present) {
      if (this.byFile.has(file) || this.unreadable.has(file)) continue;
      try {
        const summary = summarise(readCassetteFileSync(path.join(this.dir, file)), file);
        this.byFile.set(file, summary);
        added.push(summary);
      } catch (error) {
        if (!(error instanceof CorruptCassetteError)) throw error;
        this.unreadable.set(file, error.message);
      }
    }
    let removed = 0;
    for (const file of [...this.byFile.keys()]) {
      if (present.has(file)) continue;
      this.byFile.delete(file);
      removed++;
    }
    for (const file of [...this.unreadable.keys()]) if (!present.has(file)) this.unreadable.delete(file);
    if (added.length || removed || !this.summaries.length) {
      this.summaries = [...this.byFile.values()].sort(newestFirst);
    }
    this.saveCache(added, removed > 0);
    return { added: added.length, removed };
  }

  get size(): number {
    return this.summaries.length;
  }

  totals(): { requests: number; success: number; errors: number } {
    const errors = this.summaries.reduce((n, s) => n + (s.failed ? 1 : 0), 0);
    return { requests: this.summaries.length, success: this.summaries.length - errors, errors };
  }

  query(query: CatalogQuery): CatalogPage {
    const text = query.text?.trim().toLowerCase();
    const method = query.method?.trim().toUpperCase();
    const status = query.status ? statusMatcher(query.status) : undefined;
    const since = query.since?.toISOString();
    const matches = (s: CassetteSummary): boolean => (!method || s.method === method)
      && (!status || status(s))
      && (!since || s.recorded_at >= since)
      && (!text || `${s.method} ${s.path} ${s.route ?? ''} ${s.status} ${s.file}`.toLowerCase().includes(text));
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

  private loadCache(): void {
    this.cacheLoaded = true;
    let text: string;
    try {
      text = fs.readFileSync(this.cachePath(), 'utf8');
    } catch {
      return;
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const summary = JSON.parse(line) as CassetteSummary;
        if (typeof summary.file === 'string' && typeof summary.id === 'string') this.byFile.set(summary.file, summary);
      } catch {
        // A line cut short by a crash: that cassette is read again.
      }
    }
  }

  /** Appends what is new; writes the whole cache again when cassettes went away. Best effort. */
  private saveCache(added: CassetteSummary[], rewrite: boolean): void {
    try {
      if (rewrite) {
        const temp = `${this.cachePath()}.${process.pid}.tmp`;
        fs.writeFileSync(temp, this.summaries.map((s) => `${JSON.stringify(s)}\n`).join(''));
        fs.renameSync(temp, this.cachePath());
      } else if (added.length) {
        fs.appendFileSync(this.cachePath(), added.map((s) => `${JSON.stringify(s)}\n`).join(''));
      }
    } catch {
      // A read-only directory: the catalog lives in memory only.
    }
  }
}

function newestFirst(a: CassetteSummary, b: CassetteSummary): number {
  return a.recorded_at < b.recorded_at ? 1 : a.recorded_at > b.recorded_at ? -1 : a.file < b.file ? 1 : -1;
}

/** Cassette files below `dir`, relative, `/`-separated (links are never followed). */
function listFiles(dir: string): string[] {
  return listCassetteFilesSync(dir).map((file) => path.relative(dir, file).split(path.sep).join('/'));
}
