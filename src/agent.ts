/**
 * Starting the agent: configuration, the record or replay lifecycle for inbound requests, and
 * the instrumentations. Any fault here leaves the app running as if the agent were not loaded.
 */
import https from 'node:https';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { BodyPolicy } from './cassette/body.js';
import { ALL_VALUE_PATTERNS, Redactor, useCustomValuePatterns } from './cassette/redact.js';
import { readConfig, type Config } from './config.js';
import { unwritableDirProblem } from './dirs.js';
import { activeSession } from './context.js';
import { hookServer, type SessionLifecycle } from './inbound/server.js';
import { codeLocations, type Instrumentation } from './instrumentation.js';
import { installReadSources } from './determinism/sources.js';
import { noticeBundledLibraries } from './loader/bundles.js';
import { installHooks } from './loader/hooks.js';
import { describeError, info, setLogLevel, warn } from './log.js';
import { OBSERVABILITY_AGENT_CODE } from './observability-agents.js';
import { contextFor } from './plugin-context.js';

/**
 * Required, not imported: an ES import of node:http makes Node 22 and later read its lazy
 * `WebSocket` exports, which loads the bundled undici (about 35 ms of CPU on Node 26), a start-up
 * cost that an app which never uses fetch would pay for the agent.
 */
const require = createRequire(import.meta.url);
const http = require('node:http') as typeof import('node:http');

/**
 * How the app loaded the agent. `import` (`--import timetracer/register`): Node waits for the
 * agent before it loads the app. `require` (`--require`): it does not, so the agent must be in
 * place when `start` returns, and can wait for nothing.
 */
export type Entry = 'import' | 'require';

const STARTED = Symbol.for('timetracer.started');

/**
 * Reads the configuration from the environment and starts, once per process; never throws. Up to
 * the hooks it runs synchronously (the mode's modules are required, not imported), so a
 * `--require` preload has them in place before the app loads anything; only an `s3://` location
 * makes it wait, for its local folders.
 */
export async function start(instrumentations: readonly Instrumentation[], entry: Entry = 'import'): Promise<void> {
  const globals = globalThis as { [STARTED]?: boolean };
  try {
    // Imported twice (NODE_OPTIONS and the command line, or two installed copies): started once.
    if (globals[STARTED]) return;
    globals[STARTED] = true;
    const result = readConfig();
    if (!result.ok) {
      warn(`${result.problem}. timetracer stays off.`);
      return;
    }
    if (result.config.mode === 'off') return;
    await startAgent(result.config, instrumentations, entry);
  } catch (error) {
    warn(`could not start (${describeError(error)}); the app runs without it`);
  }
}

/** A redaction file naming a built-in pattern or a plugin that does not exist: said, as a typo would be. */
function redactFilePlugins(config: Config, instrumentations: readonly Instrumentation[]): string | undefined {
  const file = config.redactFile;
  if (!file) return undefined;
  const badPatterns = Object.keys(file.valuePatterns).filter((name) => !(ALL_VALUE_PATTERNS as readonly string[]).includes(name));
  if (badPatterns.length)
    return `TIMETRACER_REDACT_FILE names unknown value pattern(s) ${badPatterns.join(', ')}; use any of: ${ALL_VALUE_PATTERNS.join(', ')}`;
  const plugins = instrumentations.map((i) => i.name);
  const badPlugins = Object.keys(file.libraries).filter((name) => !plugins.includes(name));
  if (badPlugins.length)
    return `TIMETRACER_REDACT_FILE names unknown plugin(s) ${badPlugins.join(', ')}; use any of: ${plugins.join(', ')}`;
  return undefined;
}

function unknownPlugins(config: Config, known: ReadonlySet<string>): string | undefined {
  for (const [variable, names] of [
    ['TIMETRACER_MOCK_PLUGINS', config.mockPlugins],
    ['TIMETRACER_LIVE_PLUGINS', config.livePlugins],
  ] as const) {
    const unknown = [...(names ?? [])].filter((name) => !known.has(name));
    if (unknown.length) return `${variable} names unknown plugin(s) ${unknown.join(', ')}; use any of: ${[...known].join(', ')}`;
  }
  return undefined;
}

async function startAgent(configured: Config, instrumentations: readonly Instrumentation[], entry: Entry): Promise<void> {
  setLogLevel(configured.log);
  const location = configured.mode === 'record' ? configured.dir : configured.cassette;
  const remoteLocation = /^s3:/.test(location);
  if (remoteLocation && entry === 'require') {
    const variable = configured.mode === 'record' ? 'TIMETRACER_DIR' : 'TIMETRACER_CASSETTE';
    warn(
      `${variable}=${JSON.stringify(location)} needs --import timetracer/register: a --require preload cannot wait for S3. timetracer stays off.`,
    );
    return;
  }
  // An s3:// location is loaded only when used: the SDK is an optional dependency.
  const folders = remoteLocation ? await (await import('./remote/folders.js')).withLocalFolders(configured) : { config: configured };
  if ('problem' in folders) {
    warn(`${folders.problem}. timetracer stays off.`);
    return;
  }
  const { config, remote } = folders;
  const problem = unknownPlugins(config, new Set(instrumentations.filter((i) => i.role === 'dependency').map((i) => i.name)));
  if (problem) {
    warn(`${problem}. timetracer stays off.`);
    return;
  }
  const output = outputDir(config);
  const unwritable = output && unwritableDirProblem(output.dir);
  if (unwritable) {
    warn(`${output.variable}=${JSON.stringify(output.dir)} cannot be written (${unwritable}). timetracer stays off.`);
    return;
  }
  const redactFileProblem = redactFilePlugins(config, instrumentations);
  if (redactFileProblem) {
    warn(`${redactFileProblem}. timetracer stays off.`);
    return;
  }
  useCustomValuePatterns((config.redactFile?.patterns ?? []).map((pattern) => new RegExp(pattern, 'g')));
  // One key links a secret alike in the request, the response and the calls (see redact.ts).
  const redactor = new Redactor([...config.redact, ...(config.redactFile?.names ?? [])], {
    valuePatterns: ALL_VALUE_PATTERNS.filter((name) => config.redactFile?.valuePatterns[name] !== false),
  }).linking();
  const policy: BodyPolicy = { maxBytes: config.maxBodyBytes, redactor };
  // Each mode's modules are loaded only in that mode: start-up is what a service pays at each deploy.
  const started =
    config.mode === 'record'
      ? (require('./agent-record.js') as typeof import('./agent-record.js')).startRecording(config, policy, remote)
      : replayModule().startReplaying(config, policy);
  const lifecycle = config.announceListen ? announcing(started) : started;
  hookServer(http.Server.prototype, lifecycle, config.maxBodyBytes);
  hookServer(https.Server.prototype, lifecycle, config.maxBodyBytes);
  noticeBundledLibraries(instrumentations);
  if (config.mode === 'replay' && config.strictReplay) replayModule().guardReplayConnections(config, instrumentations);
  installHooks(instrumentations, (instrumentation) => {
    // A library's own names (TIMETRACER_REDACT_FILE "libraries") on top of everyone's, linked alike.
    const names = config.redactFile?.libraries[instrumentation.name]?.names ?? [];
    return contextFor(instrumentation, config, names.length ? { ...policy, redactor: redactor.withNames(names) } : policy);
  });
  if (config.determinism) {
    for (const problem of installReadSources({ streamOf: () => activeSession()?.reads, excluded: ownReaders(instrumentations) })) {
      warn(`determinism: could not wrap ${problem}; what the app reads there is live in replay`);
    }
  }
}

function replayModule(): typeof import('./agent-replay.js') {
  return require('./agent-replay.js') as typeof import('./agent-replay.js');
}

/** Where this mode writes cassettes, if anywhere, and the variable that said so. */
function outputDir(config: Config): { variable: string; dir: string } | undefined {
  if (config.mode === 'record') return { variable: 'TIMETRACER_DIR', dir: config.dir };
  return config.replayDir ? { variable: 'TIMETRACER_REPLAY_DIR', dir: config.replayDir } : undefined;
}

/**
 * Code whose clock and random reads stay live: timetracer's own, the instrumented libraries'
 * (replay answers them without running what reads there, so their reads would not line up; they
 * are never what the app gets), and other observability agents' (span ids).
 */
function ownReaders(instrumentations: readonly Instrumentation[]): string[] {
  const timetracer = fileURLToPath(new URL('..', import.meta.url));
  const libraries = instrumentations.filter((i) => i.role === 'dependency').flatMap(codeLocations);
  return [timetracer, ...libraries, ...OBSERVABILITY_AGENT_CODE];
}

/** `timetracer replay` learns where the app listens from this line (TIMETRACER_ANNOUNCE_LISTEN). */
function announcing(lifecycle: SessionLifecycle): SessionLifecycle {
  let announced = false;
  return {
    begin: (req) => lifecycle.begin(req),
    attach: (session, exchange) => lifecycle.attach(session, exchange),
    end: (session, exchange) => lifecycle.end(session, exchange),
    listening(server) {
      lifecycle.listening?.(server);
      const address = server.address();
      if (announced || !address || typeof address !== 'object') return;
      announced = true;
      info(`timetracer listening ${address.port}`);
    },
  };
}
