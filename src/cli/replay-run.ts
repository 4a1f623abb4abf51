/**
 * A replay run: the app started in replay mode with its recorded cassettes, every recorded inbound
 * request sent to it again in recorded order, and each response, and each dependency call made,
 * compared with the recording the way `timetracer diff` compares two cassettes. A call the
 * recording does not hold (a miss), or a recorded call no longer made, fails its request. Used by
 * `timetracer replay` and by `timetracer/test`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compareCassettes, requestLine, type Difference } from './compare.js';
import { isProcessCassette, type Cassette } from '../cassette/schema.js';
import { CorruptCassetteError, listCassetteFilesSync, readCassetteFileSync } from '../cassette/store.js';
import { splitSegmentRef } from '../cassette/segment.js';
import { isProcessCassetteFile } from '../cassette/names.js';
import { LiveSecrets, type RequestToSend } from '../replay/live-secrets.js';
import { makeDirsSync } from '../dirs.js';

export interface ReplayRunOptions {
  /** A cassette file or a directory of them. */
  cassettes: string;
  /** The command that starts the app, as argv. */
  command: readonly string[];
  /** The port the app listens on, when it does not read PORT (which the run sets to a free one). */
  port?: number;
  /** A URL that answers once the app is up; else the run waits for the first socket it listens on. */
  ready?: string;
  /** Requests in flight at once. */
  parallel?: number;
  /** Fields not compared: names at any depth, or paths as differences are reported. */
  ignore?: readonly string[];
  /** A recorded call the app no longer makes does not fail its request. */
  allowUnused?: boolean;
  /** Where the replayed cassettes are kept (else a temporary folder, removed). */
  out?: string;
  /** More environment for the app. */
  env?: Readonly<Record<string, string>>;
  /** How long the app may take to start, and each request to be answered. */
  timeoutMs?: number;
}

export interface RequestResult {
  /** The recorded cassette. */
  file: string;
  recorded: Cassette;
  /** The cassette written as the request was replayed, and its file, when one was. */
  replayed: Cassette | undefined;
  replayedFile?: string;
  passed: boolean;
  /** What fails the request. */
  failures: Difference[];
  /** Differences that do not count: recorded calls no longer made, with `allowUnused`. */
  allowed: Difference[];
  /** Why the request could not be replayed at all (not sent, not answered, not written). */
  problem?: string;
}

export interface ReplayRun {
  results: RequestResult[];
  /** What the app printed last, to see why it failed. */
  appOutput: string[];
  /** Secrets redacted when recorded that requests were sent as the app answered them in this run. */
  liveSecrets: number;
}

export class ReplayRunError extends Error {}

/** The entry `--import` that loads the agent: this package's own. */
const REGISTER = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'register.mjs')).href;
const REPLAY_ID_HEADER = 'x-timetracer-replay';
/** Headers of the recorded request that belong to its connection, not to the request. */
const CONNECTION_HEADERS = new Set([
  'host',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  REPLAY_ID_HEADER,
]);
const KEPT_OUTPUT_LINES = 40;

/** Fields a project marks as noise, in a file beside its cassettes: `{ "ignore": ["updated_at", ...] }`. */
export const NOISE_FILE = 'timetracer.noise.json';

/** The directory the cassettes are in: the one given, or the one file's. */
export function cassetteRoot(cassettes: string): string {
  return fs.statSync(cassettes, { throwIfNoEntry: false })?.isDirectory() ? cassettes : path.dirname(cassettes);
}

/** The noise file of these cassettes: beside them. */
export function noiseFileOf(cassettes: string): string {
  return path.join(cassetteRoot(cassettes), NOISE_FILE);
}

/** What the noise file beside the cassettes lists; none when there is no such file. */
export function noiseOf(cassettes: string): string[] {
  const file = noiseFileOf(cassettes);
  if (!fs.existsSync(file)) return [];
  try {
    const { ignore } = JSON.parse(fs.readFileSync(file, 'utf8')) as { ignore?: unknown };
    if (!Array.isArray(ignore) || !ignore.every((field) => typeof field === 'string'))
      throw new Error('"ignore" is not a list of field names');
    return ignore;
  } catch (error) {
    throw new ReplayRunError(`${file} cannot be used (${(error as Error).message})`);
  }
}

/** The request cassettes to replay, in recorded order; process cassettes are the app's own business. */
export function recordedRequests(source: string): Array<{ file: string; cassette: Cassette }> {
  let files: string[];
  try {
    files = fs.statSync(source).isDirectory() ? listCassetteFilesSync(source) : [source];
  } catch {
    throw new ReplayRunError(`no cassette file or directory at ${source}`);
  }
  const requests: Array<{ file: string; cassette: Cassette }> = [];
  for (const file of files) {
    try {
      const cassette = readCassetteFileSync(file);
      if (!isProcessCassette(cassette)) requests.push({ file, cassette });
    } catch (error) {
      if (!(error instanceof CorruptCassetteError)) throw error;
      throw new ReplayRunError(error.message);
    }
  }
  return requests.sort((a, b) => a.cassette.session.recorded_at.localeCompare(b.cassette.session.recorded_at));
}

export async function runReplay(options: ReplayRunOptions): Promise<ReplayRun> {
  const requests = recordedRequests(options.cassettes);
  if (!requests.length) throw new ReplayRunError(`${options.cassettes} holds no request cassettes`);
  const out = options.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'timetracer-replay-'));
  makeDirsSync(out);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const app = await startApp(options, {
    TIMETRACER_MODE: 'replay',
    TIMETRACER_CASSETTE: path.resolve(options.cassettes),
    TIMETRACER_REPLAY_DIR: out,
  });
  try {
    const base = options.ready ? await waitForUrl(options.ready, app, timeoutMs) : await app.listening(timeoutMs);
    const secrets = new LiveSecrets();
    const answers = await sendAll(
      base,
      requests.map(({ cassette }) => cassette),
      options.parallel ?? 1,
      timeoutMs,
      true,
      secrets,
    );
    const written = await app.written('replayed', answers.filter((answer) => answer.ok).length, timeoutMs);
    const byId = new Map<string, { file: string; cassette: Cassette }>();
    for (const file of written) {
      const cassette = readCassetteFileSync(file);
      if (isProcessCassette(cassette)) continue;
      const id = cassette.request.headers[REPLAY_ID_HEADER];
      if (typeof id === 'string') byId.set(id, { file, cassette });
    }
    const results = requests.map(({ file, cassette }, i) => judge(file, cassette, byId.get(String(i)), answers[i]!, options));
    return { results, appOutput: app.output(), liveSecrets: secrets.size };
  } finally {
    await app.stop();
    if (!options.out) fs.rmSync(out, { recursive: true, force: true });
  }
}

/**
 * What differs between two replays of the same code: noise, not regressions. Each request's
 * replayed response and calls are compared between two runs (the app started afresh for each);
 * the fields that differ are returned as paths, the way reports name them.
 */
export async function learnNoise(options: ReplayRunOptions): Promise<string[]> {
  const first = await runReplay({ ...options, ignore: [], out: undefined });
  const second = await runReplay({ ...options, ignore: [], out: undefined });
  const fields = new Set<string>();
  for (const [i, result] of first.results.entries()) {
    const again = second.results[i]?.replayed;
    if (!result.replayed || !again) continue;
    for (const difference of compareCassettes(result.replayed, again)) {
      if (difference.kind === 'call.changed') for (const change of difference.changes) fields.add(change.path);
      else if ('path' in difference) fields.add(difference.path);
    }
  }
  return [...fields].sort();
}

export interface Rerecorded {
  /** The cassette replaced (now removed). */
  old: string;
  /** The new recording, in its place among the cassettes. */
  file: string;
  /** What changed from the old recording to the new. */
  changes: Difference[];
}

/**
 * Records the given requests again against the live dependencies (the app started in record
 * mode), and puts each new cassette in place of the old one: same folder of days, the old file
 * removed. The new process cassette joins the others: it is the current code's start-up.
 */
export async function rerecord(
  options: ReplayRunOptions,
  stale: ReadonlyArray<{ file: string; cassette: Cassette }>,
): Promise<Rerecorded[]> {
  if (!stale.length) return [];
  const inSegment = stale.find(({ file }) => splitSegmentRef(file));
  if (inSegment)
    throw new ReplayRunError(
      `--update puts new cassette files in place of the old ones, and ${inSegment.file} is in a segment; ` +
        'make files of the cassettes to keep updated (timetracer export) and replay those',
    );
  const root = cassetteRoot(options.cassettes);
  const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'timetracer-update-'));
  const timeoutMs = options.timeoutMs ?? 60_000;
  const app = await startApp(options, { TIMETRACER_MODE: 'record', TIMETRACER_DIR: fresh, TIMETRACER_LAYOUT: 'files' });
  let files: string[];
  try {
    const base = options.ready ? await waitForUrl(options.ready, app, timeoutMs) : await app.listening(timeoutMs);
    const answers = await sendAll(
      base,
      stale.map(({ cassette }) => cassette),
      1,
      timeoutMs,
      false,
      new LiveSecrets(),
    );
    const failed = answers.findIndex((answer) => !answer.ok);
    if (failed >= 0)
      throw new ReplayRunError(
        `could not record ${requestLine(stale[failed]!.cassette.request)} again: ${(answers[failed] as { problem: string }).problem}`,
      );
    files = await app.written('cassette', stale.length, timeoutMs);
  } finally {
    await app.stop();
  }
  const updated: Rerecorded[] = [];
  const recorded = files.map((file) => ({ file, cassette: readCassetteFileSync(file) as Cassette }));
  for (const { file: oldFile, cassette: old } of stale) {
    const match = recorded.findIndex(({ cassette }) => sameRequest(cassette, old));
    if (match < 0) continue;
    const [{ file, cassette }] = recorded.splice(match, 1) as [{ file: string; cassette: Cassette }];
    const target = path.join(root, path.relative(fresh, file));
    makeDirsSync(path.dirname(target));
    fs.copyFileSync(file, target);
    fs.rmSync(oldFile);
    updated.push({ old: oldFile, file: target, changes: compareCassettes(old, cassette) });
  }
  for (const file of listCassetteFilesSync(fresh).filter((candidate) => isProcessCassetteFile(candidate))) {
    const target = path.join(root, path.relative(fresh, file));
    makeDirsSync(path.dirname(target));
    fs.copyFileSync(file, target);
  }
  fs.rmSync(fresh, { recursive: true, force: true });
  return updated;
}

function sameRequest(a: Cassette, b: Cassette): boolean {
  return requestLine(a.request) === requestLine(b.request) && (a.request.body?.sha256 ?? null) === (b.request.body?.sha256 ?? null);
}

function judge(
  file: string,
  recorded: Cassette,
  written: { file: string; cassette: Cassette } | undefined,
  answer: Answer,
  options: ReplayRunOptions,
): RequestResult {
  if (!answer.ok) return { file, recorded, replayed: undefined, passed: false, failures: [], allowed: [], problem: answer.problem };
  if (!written)
    return {
      file,
      recorded,
      replayed: undefined,
      passed: false,
      failures: [],
      allowed: [],
      problem: 'the app answered, but no replayed cassette was written for it',
    };
  const replayed = written.cassette;
  const differences = compareCassettes(recorded, replayed, { ignore: options.ignore ?? [] });
  const counts = (d: Difference): boolean => !(options.allowUnused && d.kind === 'call.removed');
  const failures = differences.filter(counts);
  return {
    file,
    recorded,
    replayed,
    replayedFile: written.file,
    passed: failures.length === 0,
    failures,
    allowed: differences.filter((d) => !counts(d)),
  };
}

interface RunningApp {
  listening(timeoutMs: number): Promise<string>;
  /** The files of the cassettes written (`replayed`, or `cassette` when recording), once `count` have been. */
  written(kind: 'replayed' | 'cassette', count: number, timeoutMs: number): Promise<string[]>;
  output(): string[];
  exited(): boolean;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts the app with the agent in the mode `agent` sets (TIMETRACER_MODE and where cassettes go). */
async function startApp(options: ReplayRunOptions, agent: Readonly<Record<string, string>>): Promise<RunningApp> {
  const [program, ...args] = options.command;
  if (!program) throw new ReplayRunError('name the command that starts the app, after --');
  const port = options.port ?? (await freePort());
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    ...agent,
    TIMETRACER_ANNOUNCE_LISTEN: 'true',
    TIMETRACER_LOG: 'info',
    PORT: String(port),
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${REGISTER}`.trim(),
  };
  const child = spawn(program, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  let failedToStart: Error | undefined;
  child.on('error', (error) => {
    failedToStart = error;
    for (const waiter of waiters.splice(0)) waiter('');
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      pending += text;
      for (let at = pending.indexOf('\n'); at >= 0; at = pending.indexOf('\n')) {
        const line = pending.slice(0, at);
        pending = pending.slice(at + 1);
        lines.push(line);
        for (const waiter of [...waiters]) waiter(line);
      }
    });
  }
  const exit = once(child, 'close');
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null || failedToStart !== undefined;
  /** Resolves with what `pick` takes from the app's lines (those already printed included), or fails when it exits or time runs out. */
  const waitFor = <T>(what: string, pick: (line: string) => T | undefined, timeout: number): Promise<T> =>
    new Promise((resolve, reject) => {
      for (const line of lines) {
        const found = pick(line);
        if (found !== undefined) return resolve(found);
      }
      const timer = setTimeout(() => fail(new ReplayRunError(`${what} within ${timeout / 1000} s`)), timeout);
      const waiter = (line: string): void => {
        const found = line ? pick(line) : undefined;
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (gone())
          fail(
            new ReplayRunError(
              `the app ${failedToStart ? `could not start (${failedToStart.message})` : `exited (${child.exitCode ?? child.signalCode})`} before ${what}`,
            ),
          );
      };
      const done = (): void => {
        clearTimeout(timer);
        waiters.splice(waiters.indexOf(waiter), 1);
      };
      const fail = (error: Error): void => {
        done();
        reject(error);
      };
      waiters.push(waiter);
      void exit.then(() => waiter(''));
    });
  return {
    listening: (timeout) =>
      waitFor('it listened', (line) => /^timetracer listening (\d+)$/.exec(line)?.[1], timeout).then(
        (found) => `http://127.0.0.1:${found}`,
      ),
    written(kind, count, timeout) {
      const marker = `  ${kind}: `;
      const files = (): string[] => lines.filter((line) => line.startsWith(marker)).map((line) => path.resolve(line.slice(marker.length)));
      if (count === 0) return Promise.resolve([]);
      return waitFor(`it wrote ${count} ${kind} cassette(s)`, () => (files().length >= count ? files() : undefined), timeout);
    },
    output: () => lines.slice(-KEPT_OUTPUT_LINES),
    exited: gone,
    async stop() {
      if (gone()) return;
      child.kill('SIGTERM');
      await exit;
    },
  };
}

async function waitForUrl(url: string, app: RunningApp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answered = await new Promise<boolean>((resolve) => {
      http
        .get(url, { agent: false }, (res) => {
          res.resume();
          resolve(true);
        })
        .on('error', () => resolve(false));
    });
    if (answered) return new URL(url).origin;
    if (app.exited()) throw new ReplayRunError(`the app exited before ${url} answered`);
    if (Date.now() > deadline) throw new ReplayRunError(`${url} did not answer within ${timeoutMs / 1000} s`);
    // Nothing to wait on but the URL itself: ask again shortly.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

type Answer = { ok: true; status: number } | { ok: false; problem: string };

/** Sends the recorded requests, `parallel` at a time; `tagged`: each with its index in a header, to find its replay by. */
async function sendAll(
  base: string,
  cassettes: readonly Cassette[],
  parallel: number,
  timeoutMs: number,
  tagged: boolean,
  secrets: LiveSecrets,
): Promise<Answer[]> {
  const answers: Answer[] = new Array(cassettes.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cassettes.length) {
      const i = next++;
      answers[i] = await send(base, cassettes[i]!, tagged ? i : undefined, timeoutMs, secrets);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, worker));
  return answers;
}

/** Sends one recorded request, its redacted secrets filled from what earlier answers held, and learns from the answer. */
function send(base: string, cassette: Cassette, index: number | undefined, timeoutMs: number, secrets: LiveSecrets): Promise<Answer> {
  const { request } = cassette;
  let prepared: RequestToSend;
  try {
    prepared = secrets.request(request);
  } catch (error) {
    return Promise.resolve({ ok: false, problem: `its recorded request cannot be sent again: ${(error as Error).message}` });
  }
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(request.query ?? {}))
    for (const item of Array.isArray(value) ? value : [value]) query.append(key, item);
  const url = `${base}${request.path}${query.size ? `?${query}` : ''}`;
  const headers: Record<string, string | string[]> = index === undefined ? {} : { [REPLAY_ID_HEADER]: String(index) };
  for (const [name, value] of Object.entries(prepared.headers)) if (!CONNECTION_HEADERS.has(name.toLowerCase())) headers[name] = value;
  if (prepared.body.length) headers['content-length'] = String(prepared.body.length);
  return new Promise((resolve) => {
    const req = http.request(url, { method: request.method, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        secrets.learn(cassette.response, { headers: res.headers, body: Buffer.concat(chunks) });
        resolve({ ok: true, status: res.statusCode ?? 0 });
      });
      res.on('error', (error) => resolve({ ok: false, problem: `the response broke off (${error.message})` }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', (error) => resolve({ ok: false, problem: `the request failed (${error.message})` }));
    req.end(prepared.body);
  });
}
