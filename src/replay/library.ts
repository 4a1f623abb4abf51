/**
 * The cassettes replay serves from. TIMETRACER_CASSETTE names one file (it serves every inbound
 * request) or a directory: then each inbound request is served by the cassette recorded for the
 * same method, path, query and body, repeats in recorded order, so one replaying process serves
 * a whole recorded session. Calls outside requests are served from the newest process cassette
 * of the directory (of the file's directory, for one file).
 */
import fs from 'node:fs';
import path from 'node:path';
import { isProcessCassette, type AnyCassette, type Cassette, type DependencyEvent, type ProcessCassette } from '../cassette/schema.js';
import { CorruptCassetteError, isProcessCassetteFile, listCassetteFilesSync, readCassetteFileSync } from '../cassette/store.js';
import { describeError, displayPath } from '../log.js';
import type { Lookup } from '../calls.js';
import { eventKey, matchKey, stableStringify } from '../cassette/call-key.js';

/** What identifies an inbound request when choosing its cassette. */
export interface RequestKey {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  /** sha256 of the request body as recorded; undefined while the body is still arriving. */
  bodySha256: string | null | undefined;
}

export type Choice = { cassette: AnyCassette; file: string } | { cassette: undefined; reason: string };

interface Entry<C extends AnyCassette = Cassette> {
  cassette: C;
  file: string;
}

export class CassetteLibrary {
  private readonly single: Entry | undefined;
  private readonly byRequest = new Map<string, Entry[]>();
  /** Process cassettes, oldest first. */
  private readonly processes: Array<Entry<ProcessCassette>>;
  /** How many requests each full key has served: the n-th gets the n-th recording. */
  private readonly served = new Map<string, number>();
  /** Every recorded call by its match key, first recording first, with the cassette it is in. */
  private readonly byCall = new Map<string, Array<{ cassette: AnyCassette; event: DependencyEvent }>>();

  /** `lenders`: further cassettes that are only borrowed from (the single file's neighbours). */
  private constructor(
    readonly source: string,
    loaded: Array<Entry<AnyCassette>>,
    single: boolean,
    readonly problems: string[],
    lenders: Array<Entry<AnyCassette>> = [],
  ) {
    const entries = loaded.filter((entry): entry is Entry => !isProcessCassette(entry.cassette));
    this.processes = [...loaded, ...lenders]
      .filter((entry): entry is Entry<ProcessCassette> => isProcessCassette(entry.cassette))
      .sort(byRecordedAt);
    if (single) this.single = entries[0];
    for (const { cassette } of [...loaded, ...lenders]) {
      for (const event of cassette.events) {
        const key = eventKey(event);
        const list = this.byCall.get(key);
        if (list) list.push({ cassette, event });
        else this.byCall.set(key, [{ cassette, event }]);
      }
    }
    for (const entry of [...entries].sort(byRecordedAt)) {
      const key = requestKeyText(entry.cassette.request);
      const list = this.byRequest.get(key);
      if (list) list.push(entry);
      else this.byRequest.set(key, [entry]);
    }
  }

  /** Loads a file or a directory; unreadable files are skipped and listed in `problems`. */
  static load(source: string): CassetteLibrary {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(source);
    } catch {
      return new CassetteLibrary(source, [], false, [
        `TIMETRACER_CASSETTE=${source}: no such file or directory; every dependency call will be a miss`,
      ]);
    }
    if (!stat.isDirectory()) {
      try {
        const cassette = readCassetteFileSync(source);
        return new CassetteLibrary(source, [{ cassette, file: source }], true, [], neighboursOf(source));
      } catch (error) {
        return new CassetteLibrary(source, [], false, [`${(error as Error).message}; every dependency call will be a miss`]);
      }
    }
    const problems: string[] = [];
    const entries = loadAll(listCassetteFilesSync(source), problems);
    if (entries.length === 0 && problems.length === 0) problems.push(`${source} holds no cassettes; every dependency call will be a miss`);
    return new CassetteLibrary(source, entries, false, problems);
  }

  /** How many process cassettes calls outside requests can be served from. */
  get processCount(): number {
    return this.processes.length;
  }

  /** The process cassette calls outside requests are served from: the newest one. */
  chooseProcess(): Choice {
    const newest = this.processes.at(-1);
    return (
      newest ?? {
        cassette: undefined,
        reason: `it was made outside any inbound request, and no process cassette was recorded in ${displayPath(this.source)}`,
      }
    );
  }

  /**
   * A recording of this call from a cassette other than `own`: the first one recorded. Pools and
   * ORMs make some calls once per connection (a version check, SET statements, type lookups),
   * recorded only by the request that opened the connection; a request replayed on its own, or
   * in another order, finds them here.
   */
  borrow(lookup: Lookup, own: AnyCassette | undefined): DependencyEvent | undefined {
    return this.byCall.get(matchKey(lookup.type, lookup.signature))?.find((entry) => entry.cassette !== own)?.event;
  }

  /** How many request cassettes there are. */
  get size(): number {
    return this.single ? 1 : [...this.byRequest.values()].reduce((n, list) => n + list.length, 0);
  }

  choose(key: RequestKey): Choice {
    if (this.single) return this.single;
    const candidates = this.byRequest.get(requestKeyText(key));
    if (!candidates) {
      const what = `${key.method} ${key.path}${Object.keys(key.query).length ? ` with query ${stableStringify(key.query)}` : ''}`;
      return { cassette: undefined, reason: `no cassette in ${displayPath(this.source)} was recorded for ${what}` };
    }
    const sameBody =
      key.bodySha256 === undefined
        ? candidates
        : candidates.filter((entry) => (entry.cassette.request.body?.sha256 ?? null) === key.bodySha256);
    if (sameBody.length === 0) {
      return {
        cassette: undefined,
        reason: `the cassettes recorded for ${key.method} ${key.path} were recorded with a different request body`,
      };
    }
    const servedKey = `${requestKeyText(key)}\u0000${key.bodySha256 ?? ''}`;
    const n = this.served.get(servedKey) ?? 0;
    this.served.set(servedKey, n + 1);
    // Past the last recording, keep serving the last one: hitting an endpoint again while debugging works.
    return sameBody[Math.min(n, sameBody.length - 1)]!;
  }
}

/**
 * The other cassettes beside a cassette file: they lend the calls a pooled connection made once,
 * in whichever request opened it. Process cassettes are looked for in every day's folder of the
 * recording directory too: a process started before midnight writes under the day it started.
 */
function neighboursOf(file: string): Array<Entry<AnyCassette>> {
  try {
    const dir = path.dirname(file);
    const beside = listCassetteFilesSync(dir, { recursive: false }).filter((other) => other !== file);
    const days = DAY_FOLDER.test(path.basename(dir))
      ? listCassetteFilesSync(path.dirname(dir)).filter((other) => path.dirname(other) !== dir && isProcessCassetteFile(other))
      : [];
    return loadAll([...beside, ...days], []);
  } catch {
    return [];
  }
}

const DAY_FOLDER = /^\d{4}-\d{2}-\d{2}$/;

function byRecordedAt(a: Entry<AnyCassette>, b: Entry<AnyCassette>): number {
  return a.cassette.session.recorded_at.localeCompare(b.cassette.session.recorded_at);
}

/**
 * Reads each file; what cannot be read is skipped, its reason added to `problems`. Whatever one
 * file holds, the others still load: a replay that stopped here would let every call go live.
 */
function loadAll(files: readonly string[], problems: string[]): Array<Entry<AnyCassette>> {
  const entries: Array<Entry<AnyCassette>> = [];
  for (const file of files) {
    try {
      entries.push({ cassette: readCassetteFileSync(file), file });
    } catch (error) {
      problems.push(`skipped ${error instanceof CorruptCassetteError ? error.message : `${file} (${describeError(error)})`}`);
    }
  }
  return entries;
}

function requestKeyText(request: Pick<RequestKey, 'method' | 'path' | 'query'>): string {
  return `${request.method.toUpperCase()} ${request.path} ${stableStringify(request.query)}`;
}
