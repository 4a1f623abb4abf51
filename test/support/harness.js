// Test harness: real apps spawned as child processes with `--import timetracer/register`, real
// upstream HTTP servers, and waiting on events (a line, a listening port), never on sleeps.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const APPS = path.join(ROOT, 'test', 'apps');

const LINE_TIMEOUT_MS = 20_000;

/** A fresh directory under the system temp dir, removed by `t.after` when a test context is given. */
export function tempDir(t, prefix = 'timetracer-test-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t?.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Spawns `node --import timetracer/register <script>` from the package root (so the package
 * resolves itself by name, as it does for a user who installed it), or from `cwd`. `preload`:
 * modules imported before timetracer. The app must print `listening <port>` on stdout once it
 * listens, unless `waitForPort` is false.
 */
export async function startApp(t, script, { env = {}, args = [], register = true, preload = [], waitForPort = true, cwd = ROOT } = {}) {
  const imports = [...preload, ...(register ? ['timetracer/register'] : [])].flatMap((module) => ['--import', module]);
  return spawnApp(t, process.execPath, [...imports, script, ...args], { env, waitForPort, cwd });
}

/**
 * Starts an app the way a command starts it (`npm start`, `tsx app.ts`, `nodemon app.js`, ...),
 * in a process group of its own that `stop` ends whole. NODE_OPTIONS is empty unless `env` sets it.
 */
export async function spawnApp(t, command, args, { env = {}, waitForPort = true, cwd = ROOT } = {}) {
  const group = command !== process.execPath;
  const child = spawn(command, args, {
    cwd,
    env: {
      ...process.env,
      TIMETRACER_MODE: undefined,
      TIMETRACER_DIR: undefined,
      TIMETRACER_CASSETTE: undefined,
      ...env,
      NODE_OPTIONS: env.NODE_OPTIONS ?? '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: group,
  });
  const app = new AppProcess(child, { group });
  t?.after(() => app.stop());
  if (waitForPort) {
    const line = await app.waitForLine(/^listening (\d+)$/, 'stdout');
    app.port = Number(line.match(/^listening (\d+)$/)[1]);
    app.url = `http://127.0.0.1:${app.port}`;
  }
  return app;
}

class AppProcess {
  constructor(child, { group = false } = {}) {
    this.child = child;
    this.group = group;
    this.stdout = [];
    this.stderr = [];
    this.waiters = [];
    this.exited = once(child, 'close').then(([code, signal]) => ({ code, signal }));
    for (const stream of ['stdout', 'stderr']) {
      let pending = '';
      child[stream].setEncoding('utf8');
      child[stream].on('data', (text) => {
        pending += text;
        let newline;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          this[stream].push(line);
          this.waiters = this.waiters.filter((w) => !(w.stream === stream || w.stream === 'any') || !w.check(line));
        }
      });
    }
  }

  /** All stderr lines that come from timetracer. */
  get timetracerLines() {
    return this.stderr.filter((line) => line.startsWith('timetracer') || line.startsWith('  '));
  }

  /**
   * Resolves with the first line (already printed or still to come) matching `pattern`.
   * `count`: the n-th matching line; `timeoutMs`: how long before it rejects.
   */
  waitForLine(pattern, stream = 'any', { count = 1, timeoutMs = LINE_TIMEOUT_MS } = {}) {
    const lines = stream === 'any' ? [...this.stdout, ...this.stderr] : this[stream];
    const seen = lines.filter((line) => pattern.test(line));
    if (seen.length >= count) return Promise.resolve(seen[count - 1]);
    let matched = seen.length;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${pattern}; stdout:\n${this.stdout.join('\n')}\nstderr:\n${this.stderr.join('\n')}`)),
        timeoutMs,
      );
      const onExit = this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`app exited (${code ?? signal}) before printing ${pattern}; stderr:\n${this.stderr.join('\n')}`));
      });
      void onExit;
      this.waiters.push({
        stream,
        check: (line) => {
          if (!pattern.test(line) || ++matched < count) return false;
          clearTimeout(timer);
          resolve(line);
          return true;
        },
      });
    });
  }

  /** Waits until `count` cassettes have been announced (`  cassette: <path>` lines); returns their paths. */
  async cassettes(count) {
    await this.waitForLine(/^ {2}cassette: /, 'stderr', { count });
    return this.stderr.filter((l) => l.startsWith('  cassette: ')).map((l) => path.resolve(ROOT, l.slice('  cassette: '.length)));
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    // A command's group: npm, tsx and nodemon run the app in a child of their own.
    if (this.group) process.kill(-this.child.pid, 'SIGTERM');
    else this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** Runs `node <args>` to its end; resolves with its exit code and output. */
export function runNode(args, options) {
  return runCommand(process.execPath, args, options);
}

/** Runs a command to its end; resolves with its exit code and output. */
export async function runCommand(command, args, { cwd = ROOT, env = process.env } = {}) {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text) => {
    stdout += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text) => {
    stderr += text;
  });
  const [code] = await once(child, 'close');
  return { code, stdout, stderr };
}

/**
 * An HTTP server in the test process standing in for a dependency (`handler` as for
 * http.createServer); HTTPS when given `tls: { key, cert }`.
 */
export async function startUpstream(t, handler, { tls } = {}) {
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  const upstream = {
    port,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    /** Stops accepting and drops open connections: from here on, a real call would be refused. */
    async close() {
      if (!server.listening) return;
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
  t?.after(() => upstream.close());
  return upstream;
}

/**
 * A TCP port standing in for a stopped dependency: it counts the connections made to it and
 * drops each at once. `port`: the port the dependency had (0: any free one).
 */
/** A port free now, for a server the test does not start itself (pm2's workers, a real app). */
export async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startTripwire(t, port = 0) {
  const tripwire = { connections: 0 };
  const server = net.createServer((socket) => {
    tripwire.connections++;
    socket.destroy();
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  tripwire.port = server.address().port;
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return tripwire;
}

/** A request from the test process (which runs without the agent): status, headers, text body. */
export async function request(url, { method = 'GET', headers = {}, body } = {}) {
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  return { status: response.status, headers: Object.fromEntries(response.headers), text, json: () => JSON.parse(text) };
}

/** Sends `[method, path, body]` to the app, a JSON body as JSON; resolves with the status and the parsed JSON answer. */
export async function send(app, [method, path, body]) {
  const response = await request(
    `${app.url}${path}`,
    body ? { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : { method },
  );
  return { status: response.status, body: response.json() };
}
export function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** Every request cassette file below `dir` (process cassettes left out: see processCassetteFiles). */
export function cassetteFiles(dir) {
  return allCassetteFiles(dir).filter((file) => !isProcessCassette(file));
}

/** The process cassette files below `dir`: what each recording process did outside its requests. */
export function processCassetteFiles(dir) {
  return allCassetteFiles(dir).filter(isProcessCassette);
}

const isProcessCassette = (file) => path.basename(file).startsWith('PROCESS__');

function allCassetteFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return (
    fs
      .readdirSync(dir, { recursive: true })
      .map((name) => path.join(dir, name))
      // Hidden files and folders are tools' own (a replay run's report and replays), not recordings.
      .filter(
        (file) =>
          /\.json(\.gz)?$/.test(file) &&
          !path
            .relative(dir, file)
            .split(path.sep)
            .some((part) => part.startsWith('.')),
      )
  );
}

/**
 * A fresh PostgreSQL database on the local server (127.0.0.1:5432, user postgres), dropped after
 * the test. `setupSql` runs in it first. Returns its name and a connection string.
 */
export async function createDatabase(t, setupSql = '') {
  const { default: pg } = await import('pg');
  const name = `tt_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  t?.after(async () => {
    const dropper = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
    await dropper.connect();
    await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await dropper.end();
  });
  const url = `postgres://postgres@127.0.0.1:5432/${name}`;
  if (setupSql) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(setupSql);
    await client.end();
  }
  return { name, url };
}

export const REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * A key prefix of the test's own on the local Redis (127.0.0.1:6379), its keys deleted after the
 * test; `seed` ({ key: value }) is set under it first.
 */
export async function redisKeyPrefix(t, seed = {}) {
  const { default: Redis } = await import('ioredis');
  const prefix = `timetracer-test:${Math.random().toString(36).slice(2, 10)}`;
  const redis = new Redis(REDIS_URL);
  for (const [key, value] of Object.entries(seed)) await redis.set(`${prefix}:${key}`, value);
  t.after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });
  return prefix;
}

/** A connection string to a port nothing listens on: a real connection attempt would be refused. */
export const UNREACHABLE_DATABASE_URL = 'postgres://postgres@127.0.0.1:1/unreachable';
