/**
 * Reading cassette files into catalog summaries, on every core when there are many. A directory
 * seen for the first time (no catalog cache yet) may hold 100,000 cassettes, and reading and
 * parsing them is where the time goes. Worker threads each summarise a share while the calling
 * thread does its own and then waits for theirs, so the catalog's refresh stays synchronous.
 */
import os from 'node:os';
import path from 'node:path';
import { MessageChannel, Worker, isMainThread, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { callDigest, eventKey } from '../cassette/call-key.js';
import { isFailure } from '../cassette/failure.js';
import type { AnyCassette, EventType } from '../cassette/schema.js';
import { CorruptCassetteError, readCassetteFileSync } from '../cassette/store.js';

export interface CassetteSummary {
  /** `process`: a process cassette (calls made outside requests); its method reads PROCESS, its path is empty. */
  kind: 'request' | 'process';
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
  /** The OpenTelemetry trace the request ran in, if any. */
  trace_id: string | null;
  /** The digests of the calls' match keys (see callDigest), each once: where replay finds a call to borrow. */
  calls: string[];
}

export interface SummariesRead {
  summaries: CassetteSummary[];
  /** Files that are not readable cassettes, and why. */
  unreadable: Array<[file: string, problem: string]>;
}

/** Below this many files a thread, starting a worker costs more than it saves. */
const MIN_FILES_PER_WORKER = 2_000;
/** A worker that has not answered by then is given up on, and its share read by the caller. */
const WORKER_TIMEOUT_MS = 60_000;
const WORKER_KIND = 'timetracer-catalog-reader';

interface WorkerInput {
  kind: typeof WORKER_KIND;
  dir: string;
  files: string[];
  port: MessagePort;
  /** Set to 1 once the answer is on `port`. */
  done: Int32Array;
}

const isText = (value: unknown): value is string => typeof value === 'string';
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * Whether a catalog cache line is a summary as this version writes it, every field of its type:
 * the cache is a file in the user's directory, and `list` lays out whatever it holds.
 */
export function isSummary(value: unknown): value is CassetteSummary {
  if (value === null || typeof value !== 'object') return false;
  const s = value as Record<keyof CassetteSummary, unknown>;
  return (
    (s.kind === 'request' || s.kind === 'process') &&
    [s.id, s.file, s.recorded_at, s.method, s.path, s.service].every(isText) &&
    (s.route === null || isText(s.route)) &&
    (s.entry === null || isText(s.entry)) &&
    (s.trace_id === null || isText(s.trace_id)) &&
    isCount(s.status) &&
    isCount(s.duration_ms) &&
    typeof s.failed === 'boolean' &&
    s.events !== null &&
    typeof s.events === 'object' &&
    Object.values(s.events).every(isCount) &&
    Array.isArray(s.calls) &&
    s.calls.every(isText)
  );
}

export function summarise(cassette: AnyCassette, file: string): CassetteSummary {
  const common = {
    id: cassette.session.id,
    file,
    recorded_at: cassette.session.recorded_at,
    events: cassette.stats?.event_counts ?? {},
    service: cassette.session.service,
    entry: cassette.session.entry ?? null,
    trace_id: cassette.session.trace_id ?? null,
    calls: [...new Set(cassette.events.map((event) => callDigest(eventKey(event))))],
  };
  if (!cassette.request)
    return {
      ...common,
      kind: 'process',
      method: 'PROCESS',
      path: '',
      route: null,
      status: 0,
      duration_ms: cassette.stats.total_ms,
      failed: false,
    };
  return {
    ...common,
    kind: 'request',
    method: cassette.request.method,
    path: cassette.request.path,
    route: cassette.request.route ?? null,
    status: cassette.response.status,
    // Optional in the schema: a cassette written by hand may leave it out.
    duration_ms: cassette.response.duration_ms ?? 0,
    failed: isFailure(cassette),
  };
}

/** Summaries of `files` (relative to `dir`), in no particular order. */
export function readSummaries(dir: string, files: readonly string[]): SummariesRead {
  const workers = Math.min(os.availableParallelism() - 1, Math.floor(files.length / MIN_FILES_PER_WORKER));
  if (workers < 1) return readHere(dir, files);
  const shareSize = Math.ceil(files.length / (workers + 1));
  const shares = Array.from({ length: workers + 1 }, (_, i) => files.slice(i * shareSize, (i + 1) * shareSize));
  const helpers = shares.slice(1).map((share) => startWorker(dir, share));
  const read = readHere(dir, shares[0]!);
  helpers.forEach((helper, i) => {
    const theirs = helper.collect() ?? readHere(dir, shares[i + 1]!);
    // A loop, not a spread: a share may hold tens of thousands, past what a call takes as arguments.
    for (const summary of theirs.summaries) read.summaries.push(summary);
    for (const problem of theirs.unreadable) read.unreadable.push(problem);
  });
  return read;
}

function readHere(dir: string, files: readonly string[]): SummariesRead {
  const read: SummariesRead = { summaries: [], unreadable: [] };
  for (const file of files) {
    try {
      read.summaries.push(summarise(readCassetteFileSync(path.join(dir, file)), file));
    } catch (error) {
      if (!(error instanceof CorruptCassetteError)) throw error;
      read.unreadable.push([file, error.message]);
    }
  }
  return read;
}

/** A worker summarising `files`; `collect` blocks until it has, undefined if it could not. */
function startWorker(dir: string, files: string[]): { collect(): SummariesRead | undefined } {
  const done = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const { port1, port2 } = new MessageChannel();
  const input: WorkerInput = { kind: WORKER_KIND, dir, files, port: port2, done };
  const worker = new Worker(new URL(import.meta.url), { workerData: input, transferList: [port2] });
  worker.unref();
  // A worker that fails reports it as an event, which would end the process unheard; its share
  // is read by the caller instead (see collect).
  worker.on('error', () => undefined);
  return {
    collect() {
      const answered = Atomics.wait(done, 0, 0, WORKER_TIMEOUT_MS) !== 'timed-out';
      const answer = answered ? (receiveMessageOnPort(port1)?.message as SummariesRead | { failed: string } | undefined) : undefined;
      port1.close();
      if (!answered) void worker.terminate();
      return answer && 'summaries' in answer ? answer : undefined;
    },
  };
}

if (!isMainThread && (workerData as Partial<WorkerInput> | null)?.kind === WORKER_KIND) {
  const { dir, files, port, done } = workerData as WorkerInput;
  try {
    port.postMessage(readHere(dir, files));
  } catch (error) {
    // The caller reads this share itself, and meets the same failure where it can report it.
    port.postMessage({ failed: (error as Error).message });
  } finally {
    Atomics.store(done, 0, 1);
    Atomics.notify(done, 0);
  }
}
