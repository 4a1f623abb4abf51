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
import { CorruptCassetteError, listCassetteFilesSync, readCassetteFileSync } from '../cassette/store.js';
import { fileStem, isCassetteFile, isCassetteFolder, isProcessCassetteFile, requestFileStem } from '../cassette/names.js';
import { isSegmentFile, readSegmentEntries, segmentRef, splitSegmentRef, type SegmentEntry } from '../cassette/segment.js';
import { CassetteCatalog } from '../catalog/catalog.js';
import { describeError, displayPath, warn } from '../log.js';
import type { Lookup } from '../calls.js';
import { callDigest, eventKey, matchKey, stableStringify } from '../cassette/call-key.js';

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

/** A request cassette, known by what replay chooses it by. */
interface Recording {
  file: string;
  bodySha256: string | null;
  recordedAt: string;
}

/** Calls recorded twice are enough to lend from: borrowing skips the asking session's own cassette. */
const LENDERS_PER_CALL = 2;

/**
 * Nothing is read at start but the directory's listing and the process cassettes: a request's
 * candidates are the files named for its method and path (see requestFileStem), read when the
 * first such request comes. A directory of 100,000 cassettes starts about as fast as an empty one
 * and holds only what was asked for.
 */
export class CassetteLibrary {
  private readonly single: Entry | undefined;
  /** Request cassette files by their name's stem, not read yet. */
  private readonly byStem: Map<string, string[]>;
  /** The recordings for each request key, in recorded order, of the stems read so far. */
  private readonly byRequest = new Map<string, Recording[]>();
  private requestCount = 0;
  /** Process cassettes, oldest first. */
  private readonly processes: Array<Entry<ProcessCassette>>;
  /** How many requests each full key has served: the n-th gets the n-th recording. */
  private readonly served = new Map<string, number>();
  /** Cassettes read so far, by absolute file; a file that could not be read, by why. */
  private readonly read = new Map<string, AnyCassette | CorruptCassetteError>();
  /** The calls of the cassettes read so far, by match key. */
  private readonly callsRead = new Map<string, AnyCassette[]>();
  /** Files that could not be read, to be said (once each). */
  private readonly skipped: string[] = [];
  /** Where every call of the cassettes not read is recorded, by digest: made from the catalog on first need. */
  private callIndex: Map<string, string[]> | undefined;

  /**
   * `loaded`: cassettes read whole (a single file, process cassettes); `listing`: the request
   * cassette files, read on first need; `lendersIn`: the folder whose request cassettes lend calls.
   */
  private constructor(
    readonly source: string,
    loaded: Array<Entry<AnyCassette>>,
    single: boolean,
    readonly problems: string[],
    listing: Pick<Listing, 'byStem' | 'unnamed' | 'count'> = { byStem: new Map(), unnamed: [], count: 0 },
    private readonly lendersIn?: { root: string; recursive: boolean },
  ) {
    for (const { cassette, file } of loaded) this.keep(file, cassette);
    this.processes = loaded.filter((entry): entry is Entry<ProcessCassette> => isProcessCassette(entry.cassette)).sort(byRecordedAt);
    if (single) this.single = loaded.find((entry): entry is Entry => !isProcessCassette(entry.cassette));
    this.byStem = listing.byStem;
    this.requestCount = listing.count;
    // Files named otherwise (by hand, or exported under a name of their own) say nothing of their request: read now.
    this.index(listing.unnamed);
  }

  /** Loads a file or a directory; unreadable files are skipped and listed in `problems`. */
  static load(source: string): CassetteLibrary {
    let stat: fs.Stats;
    try {
      // One cassette of a segment (`<segment>#<offset>`) is served as a file of its own would be.
      stat = fs.statSync(splitSegmentRef(source)?.segment ?? source);
    } catch {
      return new CassetteLibrary(source, [], false, [
        `TIMETRACER_CASSETTE=${source}: no such file or directory; every dependency call will be a miss`,
      ]);
    }
    if (!stat.isDirectory()) {
      try {
        const cassette = readCassetteFileSync(source);
        return new CassetteLibrary(source, [{ cassette, file: source }, ...processCassettesBeside(source)], true, [], undefined, {
          root: path.dirname(source),
          recursive: false,
        });
      } catch (error) {
        return new CassetteLibrary(source, [], false, [`${(error as Error).message}; every dependency call will be a miss`]);
      }
    }
    const problems: string[] = [];
    const listing = listRecordings(source, problems);
    const processes = loadAll(listing.processes, problems);
    if (listing.count === 0 && problems.length === 0) problems.push(`${source} holds no cassettes; every dependency call will be a miss`);
    const library = new CassetteLibrary(source, processes, false, problems, listing, { root: source, recursive: true });
    problems.push(...library.skipped.splice(0));
    return library;
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
   * A recording of this call from a cassette other than `own`. Pools and ORMs make some calls
   * once per connection (a version check, SET statements, type lookups), recorded only by the
   * request that opened the connection; a request replayed on its own, or in another order, finds
   * them here: in the cassettes read so far, else in any cassette of the directory that recorded it.
   */
  borrow(lookup: Lookup, own: AnyCassette | undefined): DependencyEvent | undefined {
    const key = matchKey(lookup.type, lookup.signature);
    const lenders = [
      ...(this.callsRead.get(key) ?? []),
      ...(this.lenderFiles().get(callDigest(key)) ?? []).map((file) => this.cassetteIn(file)),
    ];
    for (const cassette of lenders) {
      if (cassette instanceof CorruptCassetteError || cassette === own) continue;
      const event = cassette.events.find((candidate) => eventKey(candidate) === key);
      if (event) return event;
    }
    return undefined;
  }

  /** How many request cassettes there are. */
  get size(): number {
    return this.single ? 1 : this.requestCount;
  }

  choose(key: RequestKey): Choice {
    if (this.single) return this.single;
    const stem = requestFileStem(key.method, key.path);
    const unread = this.byStem.get(stem);
    if (unread) {
      this.byStem.delete(stem);
      this.index(unread);
      for (const problem of this.skipped.splice(0)) warn(problem);
    }
    const candidates = this.byRequest.get(requestKeyText(key));
    if (!candidates) {
      const what = `${key.method} ${key.path}${Object.keys(key.query).length ? ` with query ${stableStringify(key.query)}` : ''}`;
      return { cassette: undefined, reason: `no cassette in ${displayPath(this.source)} was recorded for ${what}` };
    }
    const sameBody = key.bodySha256 === undefined ? candidates : candidates.filter((entry) => entry.bodySha256 === key.bodySha256);
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
    const { file } = sameBody[Math.min(n, sameBody.length - 1)]!;
    const cassette = this.cassetteIn(file);
    if (cassette instanceof CorruptCassetteError) return { cassette: undefined, reason: cassette.message };
    return { cassette: cassette as Cassette, file };
  }

  /**
   * Reads request cassette files for what they were recorded for; each request key's recordings
   * stay in recorded order. Only what choosing needs is kept: the chosen one is read again.
   */
  private index(files: readonly string[]): void {
    const touched = new Set<Recording[]>();
    for (const file of files) {
      let cassette: AnyCassette;
      try {
        cassette = readCassetteFileSync(file);
      } catch (error) {
        this.skipped.push(`skipped ${error instanceof CorruptCassetteError ? error.message : `${file} (${describeError(error)})`}`);
        this.read.set(file, new CorruptCassetteError(`${file} cannot be read`));
        this.requestCount--;
        continue;
      }
      if (isProcessCassette(cassette)) {
        this.requestCount--;
        this.keep(file, cassette);
        this.processes.push({ cassette, file });
        this.processes.sort(byRecordedAt);
        continue;
      }
      const key = requestKeyText(cassette.request);
      const recording = { file, bodySha256: cassette.request.body?.sha256 ?? null, recordedAt: cassette.session.recorded_at };
      const list = this.byRequest.get(key);
      if (list) list.push(recording);
      else this.byRequest.set(key, [recording]);
      touched.add(this.byRequest.get(key)!);
    }
    for (const list of touched) list.sort((a, b) => a.recordedAt.localeCompare(b.recordedAt) || (a.file < b.file ? -1 : 1));
  }

  /** The cassette in `file`, read on first need; what cannot be read is said once. */
  private cassetteIn(file: string): AnyCassette | CorruptCassetteError {
    const known = this.read.get(file);
    if (known) return known;
    try {
      const cassette = readCassetteFileSync(file);
      this.keep(file, cassette);
      return cassette;
    } catch (error) {
      const problem = error instanceof CorruptCassetteError ? error : new CorruptCassetteError(`${file} (${describeError(error)})`);
      warn(`skipped ${problem.message}`);
      this.read.set(file, problem);
      return problem;
    }
  }

  private keep(file: string, cassette: AnyCassette): void {
    this.read.set(file, cassette);
    for (const event of cassette.events) {
      const lenders = this.callsRead.get(eventKey(event));
      if (!lenders) this.callsRead.set(eventKey(event), [cassette]);
      else if (lenders.length < LENDERS_PER_CALL && !lenders.includes(cassette)) lenders.push(cassette);
    }
  }

  /**
   * Every request cassette's calls, by digest, first recording first: from the catalog's index
   * (`.timetracer-catalog.jsonl`, kept as `timetracer list` and the dashboard keep it), made when a
   * call is first borrowed from a cassette not read yet.
   */
  private lenderFiles(): Map<string, string[]> {
    if (this.callIndex) return this.callIndex;
    this.callIndex = new Map();
    if (!this.lendersIn) return this.callIndex;
    const { root, recursive } = this.lendersIn;
    const catalog = new CassetteCatalog(root);
    catalog.refresh();
    const summaries = catalog
      .query({ limit: Number.POSITIVE_INFINITY })
      .items.filter((summary) => summary.kind === 'request' && (recursive || !summary.file.includes('/')))
      .reverse();
    for (const summary of summaries) {
      for (const digest of summary.calls) {
        const file = path.join(root, summary.file);
        const lenders = this.callIndex.get(digest);
        if (!lenders) this.callIndex.set(digest, [file]);
        else if (lenders.length < LENDERS_PER_CALL) lenders.push(file);
      }
    }
    return this.callIndex;
  }
}

/** A directory's cassette files as their names sort them, nothing read yet. */
interface Listing {
  /** Request cassette files by stem (see requestFileStem). */
  byStem: Map<string, string[]>;
  /** Files whose name does not say what they hold (named by hand, or exported under a name of their own). */
  unnamed: string[];
  processes: string[];
  /** Request and unnamed files. */
  count: number;
}

/** Lists `root` and the folders below it (not hidden ones); a folder that cannot be read is added to `problems`. */
function listRecordings(root: string, problems: string[]): Listing {
  const listing: Listing = { byStem: new Map(), unnamed: [], processes: [], count: 0 };
  const walk = (folder: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(folder, { withFileTypes: true });
    } catch (error) {
      problems.push(`skipped the folder ${folder} (${describeError(error)})`);
      return;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) {
        if (isCassetteFolder(entry.name)) walk(path.join(folder, entry.name));
        continue;
      }
      if (entry.isFile() && isSegmentFile(entry.name)) {
        addSegment(listing, `${folder}${path.sep}${entry.name}`, problems);
        continue;
      }
      if (!entry.isFile() || !isCassetteFile(entry.name)) continue;
      const file = `${folder}${path.sep}${entry.name}`;
      if (isProcessCassetteFile(entry.name)) {
        listing.processes.push(file);
        continue;
      }
      addRequest(listing, file, fileStem(entry.name));
    }
  };
  walk(root);
  return listing;
}

function addRequest(listing: Listing, ref: string, stem: string | undefined): void {
  listing.count++;
  const refs = stem === undefined ? listing.unnamed : listing.byStem.get(stem);
  if (refs) refs.push(ref);
  else listing.byStem.set(stem!, [ref]);
}

/** A segment's cassettes, by the stems its index gives. */
function addSegment(listing: Listing, segment: string, problems: string[]): void {
  let entries: SegmentEntry[];
  try {
    entries = readSegmentEntries(segment);
  } catch (error) {
    problems.push(`skipped ${segment} (${describeError(error)})`);
    return;
  }
  for (const entry of entries)
    addRequest(listing, segmentRef(segment, entry.offset), entry.stem.startsWith('PROCESS') ? undefined : entry.stem);
}

/**
 * The process cassettes of the recording directory a cassette file is in: they lend the calls a
 * pooled connection made once, outside any request. They are looked for in every day's folder of
 * the recording directory too: a process started before midnight writes under the day it started.
 */
function processCassettesBeside(file: string): Array<Entry<AnyCassette>> {
  try {
    const dir = path.dirname(file);
    const root = DAY_FOLDER.test(path.basename(dir)) ? path.dirname(dir) : dir;
    return loadAll(
      listCassetteFilesSync(root, { recursive: root !== dir }).filter((other) => other !== file && isProcessCassetteFile(other)),
      [],
    );
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
