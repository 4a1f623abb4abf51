/**
 * Configuration, from environment variables only. A bad value never throws: it comes back as a
 * problem naming the variable and what it accepts, and the agent stays off.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseAddressPattern, type AddressPattern } from './net-address.js';

export type Mode = 'off' | 'record' | 'replay';
export type LogLevel = 'quiet' | 'info' | 'debug';

export interface Config {
  mode: Mode;
  /** Where record writes cassettes. */
  dir: string;
  /** Replay: a cassette file or a directory of them (defaults to `dir`). */
  cassette: string;
  /** Replay: where to write each replayed request as a cassette, to compare with the recorded one; none when unset. */
  replayDir: string | undefined;
  strictReplay: boolean;
  /** Plugins whose calls replay serves from cassettes; null means all. */
  mockPlugins: ReadonlySet<string> | null;
  /** Plugins whose calls go live during replay. */
  livePlugins: ReadonlySet<string>;
  /** Strict replay: the addresses a connection may still reach (any other is refused). */
  allowConnect: readonly AddressPattern[];
  service: string;
  env: string;
  sampleRate: number;
  /** Record: record fewer requests on its own while cassettes wait to be written or the event loop lags. */
  shedLoad: boolean;
  /** Cassettes that may wait to be written; past it, new ones are dropped and counted. */
  maxPending: number;
  /** How long the process's end may wait for cassettes still being written. */
  flushTimeoutMs: number;
  /** Record what sessions read from the clock and randomness, and hand it back on replay. */
  determinism: boolean;
  /** Record: how many calls outside requests the process cassette keeps before it only counts repeats. */
  processMaxEvents: number;
  errorsOnly: boolean;
  excludePaths: readonly string[];
  maxBodyBytes: number;
  redact: readonly string[];
  /** TIMETRACER_REDACT_FILE: the redaction policy's file, read (see docs/redaction.md). */
  redactFile: RedactFile | undefined;
  compression: 'none' | 'gzip';
  /** Record: a file per cassette, or many cassettes per segment file (see cassette/segment.ts). */
  layout: 'files' | 'segments';
  log: LogLevel;
  /** Replay: say `timetracer listening <port>` when the app first listens (what `timetracer replay` waits for). */
  announceListen: boolean;
}

/** A redaction policy file: more names, patterns of the user's own, built-in patterns off, names for one library. */
export interface RedactFile {
  names: string[];
  /** Regular expressions (source text), each matched anywhere in any string written. */
  patterns: string[];
  /** Built-in value patterns by name (jwt, bearer, privateKey, card): false turns one off. */
  valuePatterns: Record<string, boolean>;
  /** Names secret in one library's data only, by plugin name (`pg`: column names). */
  libraries: Record<string, { names: string[] }>;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problem: string };

class ConfigProblem extends Error {}

type Env = Readonly<Record<string, string | undefined>>;

function choice<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new ConfigProblem(`${name}=${JSON.stringify(env[name])} is not valid; use one of: ${allowed.join(', ')}`);
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigProblem(`${name}=${JSON.stringify(env[name])} is not valid; use true or false`);
}

function number(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  // Decimal notation only (Number() would also take 0x1 and 0b1), and never a value that is not
  // zero yet rounds to it (1e-400).
  const decimal = /^\+?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.exec(raw);
  const value = decimal ? Number(raw) : Number.NaN;
  const vanished = value === 0 && /[1-9]/.test(decimal?.[1] ?? '');
  if (!Number.isFinite(value) || vanished || value < min || value > max) {
    throw new ConfigProblem(`${name}=${JSON.stringify(raw)} is not valid; use a number from ${min} to ${max}`);
  }
  return value;
}

function list(env: Env, name: string, fallback: readonly string[]): string[] {
  const raw = env[name];
  if (raw === undefined) return [...fallback];
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function addresses(env: Env, name: string): AddressPattern[] {
  return list(env, name, []).map((item) => {
    const pattern = parseAddressPattern(item);
    if (!pattern)
      throw new ConfigProblem(
        `${name} lists ${JSON.stringify(item)}, which is not an address; use host:port, [IPv6]:port, *:port, a host alone (any port) or a socket file's path, separated by commas`,
      );
    return pattern;
  });
}

const isStrings = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');

/** TIMETRACER_REDACT_FILE read and checked: every problem names the variable, the file and the field. */
function redactFile(env: Env): RedactFile | undefined {
  const file = env.TIMETRACER_REDACT_FILE?.trim();
  if (!file) return undefined;
  const problem = (what: string): ConfigProblem => new ConfigProblem(`TIMETRACER_REDACT_FILE=${JSON.stringify(file)} ${what}`);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw problem(code ? `cannot be read (${code})` : `is not valid JSON (${message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw problem('is not a JSON object');
  const { names = [], patterns = [], value_patterns: valuePatterns = {}, libraries = {}, ...unknown } = json as Record<string, unknown>;
  const stray = Object.keys(unknown);
  if (stray.length) throw problem(`has unknown field(s) ${stray.join(', ')}; use names, patterns, value_patterns, libraries`);
  if (!isStrings(names)) throw problem('has "names" that is not a list of strings');
  if (!isStrings(patterns)) throw problem('has "patterns" that is not a list of strings');
  for (const pattern of patterns) {
    try {
      new RegExp(pattern, 'g');
    } catch (error) {
      throw problem(`has a pattern that is not a regular expression: ${JSON.stringify(pattern)} (${(error as Error).message})`);
    }
  }
  const isObject = (value: unknown): value is Record<string, unknown> =>
    value !== null && typeof value === 'object' && !Array.isArray(value);
  if (!isObject(valuePatterns) || !Object.values(valuePatterns).every((on) => typeof on === 'boolean'))
    throw problem('has "value_patterns" that is not an object of true and false');
  if (!isObject(libraries) || !Object.values(libraries).every((rules) => isObject(rules) && isStrings(rules.names ?? [])))
    throw problem('has "libraries" that is not an object of { "names": [...] } by plugin');
  return {
    names,
    patterns,
    valuePatterns: valuePatterns as Record<string, boolean>,
    libraries: Object.fromEntries(
      Object.entries(libraries).map(([plugin, rules]) => [plugin, { names: (rules as { names?: string[] }).names ?? [] }]),
    ),
  };
}

/** The name in the nearest package.json above the working directory. */
function packageName(): string | undefined {
  let dir = process.cwd();
  for (;;) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (typeof pkg.name === 'string') return pkg.name;
    } catch {
      // No readable package.json here: look further up.
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function readConfig(env: Env = process.env): ConfigResult {
  try {
    const mode = choice(env, 'TIMETRACER_MODE', ['off', 'record', 'replay'], 'off');
    const dir = env.TIMETRACER_DIR?.trim() || './cassettes';
    const mockPlugins = env.TIMETRACER_MOCK_PLUGINS === undefined ? null : new Set(list(env, 'TIMETRACER_MOCK_PLUGINS', []));
    const config: Config = {
      mode,
      dir,
      cassette: env.TIMETRACER_CASSETTE?.trim() || dir,
      replayDir: env.TIMETRACER_REPLAY_DIR?.trim() || undefined,
      strictReplay: bool(env, 'TIMETRACER_STRICT_REPLAY', true),
      mockPlugins,
      livePlugins: new Set(list(env, 'TIMETRACER_LIVE_PLUGINS', [])),
      allowConnect: addresses(env, 'TIMETRACER_ALLOW_CONNECT'),
      service: env.TIMETRACER_SERVICE?.trim() || packageName() || path.basename(process.cwd()),
      env: env.TIMETRACER_ENV?.trim() || env.NODE_ENV?.trim() || 'development',
      sampleRate: number(env, 'TIMETRACER_SAMPLE_RATE', 1, 0, 1),
      shedLoad: choice(env, 'TIMETRACER_SHED_LOAD', ['on', 'off'], 'on') === 'on',
      maxPending: Math.floor(number(env, 'TIMETRACER_MAX_PENDING', 2_000, 1, 1_000_000)),
      flushTimeoutMs: Math.floor(number(env, 'TIMETRACER_FLUSH_TIMEOUT_MS', 5_000, 0, 600_000)),
      determinism: choice(env, 'TIMETRACER_DETERMINISM', ['on', 'off'], 'on') === 'on',
      processMaxEvents: Math.floor(number(env, 'TIMETRACER_PROCESS_MAX_EVENTS', 1000, 0, 1_000_000)),
      errorsOnly: bool(env, 'TIMETRACER_ERRORS_ONLY', false),
      excludePaths: list(env, 'TIMETRACER_EXCLUDE_PATHS', ['/health', '/metrics']),
      maxBodyBytes: Math.floor(number(env, 'TIMETRACER_MAX_BODY_KB', 64, 0, 1024 * 1024) * 1024),
      redact: list(env, 'TIMETRACER_REDACT', []),
      redactFile: redactFile(env),
      compression: choice(env, 'TIMETRACER_COMPRESSION', ['none', 'gzip'], 'none'),
      layout: choice(env, 'TIMETRACER_LAYOUT', ['files', 'segments'], 'files'),
      log: choice(env, 'TIMETRACER_LOG', ['info', 'quiet', 'debug'], 'info'),
      announceListen: bool(env, 'TIMETRACER_ANNOUNCE_LISTEN', false),
    };
    return { ok: true, config };
  } catch (error) {
    if (error instanceof ConfigProblem) return { ok: false, problem: error.message };
    throw error;
  }
}

/** Whether a path is excluded from recording: equal to an excluded path or below it. */
export function isExcludedPath(config: Config, pathname: string): boolean {
  return config.excludePaths.some(
    (excluded) => pathname === excluded || pathname.startsWith(excluded.endsWith('/') ? excluded : `${excluded}/`),
  );
}
