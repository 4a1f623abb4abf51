/**
 * Starting the agent: configuration, the record or replay lifecycle for inbound requests, and
 * the instrumentations. Any fault here leaves the app running as if the agent were not loaded.
 */
import https from 'node:https';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { onExit } from 'signal-exit';
import type { BodyPolicy } from './cassette/body.js';
import { Redactor } from './cassette/redact.js';
import { readConfig, type Config } from './config.js';
import { activeSession, currentSession } from './context.js';
import type { CassetteContext } from './inbound/cassette.js';
import { hookServer, type SessionLifecycle } from './inbound/server.js';
import { codeLocations, connectionOwners, type Instrumentation } from './instrumentation.js';
import { installReadSources } from './determinism/sources.js';
import { installHooks } from './loader/hooks.js';
import { describeError, info, setLogLevel, warn } from './log.js';
import { ProcessRecorder } from './record/process-recorder.js';
import { LoadShedder } from './record/load-shedding.js';
import { Recorder } from './record/recorder.js';
import { CassetteWriter } from './record/writer.js';
import { CassetteLibrary } from './replay/library.js';
import { Replayer } from './replay/replayer.js';
import { guardConnections } from './replay/connection-guard.js';
import { strictReplayPolicy } from './replay/connection-policy.js';
import { contextFor, isServedFromCassette } from './plugin-context.js';
import { TIMETRACER_VERSION } from './version.js';

/**
 * Required, not imported: an ES import of node:http makes Node 22 and later read its lazy
 * `WebSocket` exports, which loads the bundled undici (about 35 ms of CPU on Node 26), a start-up
 * cost that an app which never uses fetch would pay for the agent.
 */
const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');

const STARTED = Symbol.for('timetracer.started');

/** Reads the configuration from the environment and starts, once per process; never throws. */
export function start(instrumentations: readonly Instrumentation[]): void {
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
    startAgent(result.config, instrumentations);
  } catch (error) {
    warn(`could not start (${describeError(error)}); the app runs without it`);
  }
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

export function startAgent(config: Config, instrumentations: readonly Instrumentation[]): void {
  setLogLevel(config.log);
  const problem = unknownPlugins(config, new Set(instrumentations.filter((i) => i.role === 'dependency').map((i) => i.name)));
  if (problem) {
    warn(`${problem}. timetracer stays off.`);
    return;
  }
  // One key links a secret alike in the request, the response and the calls (see redact.ts).
  const policy: BodyPolicy = { maxBytes: config.maxBodyBytes, redactor: new Redactor(config.redact).linking() };
  const started = config.mode === 'record' ? startRecording(config, policy) : startReplaying(config, policy);
  const lifecycle = config.announceListen ? announcing(started) : started;
  hookServer(http.Server.prototype, lifecycle, config.maxBodyBytes);
  hookServer(https.Server.prototype, lifecycle, config.maxBodyBytes);
  if (config.mode === 'replay' && config.strictReplay) {
    guardConnections(
      strictReplayPolicy(connectionOwners(instrumentations), {
        servedFromCassette: (plugin) => isServedFromCassette(config, plugin),
        allowed: config.allowConnect,
      }),
    );
  }
  installHooks(instrumentations, (instrumentation) => contextFor(instrumentation, config, policy));
  if (config.determinism) {
    for (const problem of installReadSources({ streamOf: () => activeSession()?.reads, excluded: ownReaders(instrumentations) })) {
      warn(`determinism: could not wrap ${problem}; what the app reads there is live in replay`);
    }
  }
}

/**
 * Code whose clock and random reads stay live: timetracer's own, and the instrumented libraries'
 * (replay answers them without running what reads there, so their reads would not line up; they
 * are never what the app gets).
 */
function ownReaders(instrumentations: readonly Instrumentation[]): string[] {
  const timetracer = fileURLToPath(new URL('..', import.meta.url));
  const libraries = instrumentations.filter((i) => i.role === 'dependency').flatMap(codeLocations);
  return [timetracer, ...libraries];
}

function cassetteContext(config: Config, policy: BodyPolicy): CassetteContext {
  return { service: config.service, env: config.env, policy, versions: { node: process.version, timetracer: TIMETRACER_VERSION } };
}

function startRecording(config: Config, policy: BodyPolicy): SessionLifecycle {
  const writer = new CassetteWriter({
    root: config.dir,
    gzip: config.compression === 'gzip',
    layout: config.layout,
    service: config.service,
  });
  const context = cassetteContext(config, policy);
  const processRecorder = new ProcessRecorder({ context, writer, maxEvents: config.processMaxEvents, determinism: config.determinism });
  const shedder = config.shedLoad ? new LoadShedder(() => writer.pending) : undefined;
  const recorder = new Recorder({ config, context, writer, shedder, started: () => processRecorder.started() });
  // A crash still leaves its cassette, with the error that caused it, on the request whose code raised it.
  process.on('uncaughtExceptionMonitor', (error) => currentSession()?.annotate({ error }));
  onExit(
    () => {
      processRecorder.flushSync();
      recorder.flushSync();
    },
    { alwaysLast: true },
  );
  return recorder;
}

function startReplaying(config: Config, policy: BodyPolicy): SessionLifecycle {
  const library = CassetteLibrary.load(config.cassette);
  for (const problem of library.problems) warn(problem);
  const processes = library.processCount ? ` and ${library.processCount} process cassette(s)` : '';
  if (library.size || library.processCount)
    info(
      `timetracer replay mode: ${library.size} cassette(s)${processes} from ${config.cassette}${config.strictReplay ? '' : ', unmatched calls go live'}`,
    );
  let output: { writer: CassetteWriter; context: CassetteContext } | undefined;
  if (config.replayDir) {
    // Replayed cassettes are files of their own, whatever the layout: they are compared and shown one by one.
    const writer = new CassetteWriter({
      root: config.replayDir,
      gzip: config.compression === 'gzip',
      layout: 'files',
      service: config.service,
    });
    onExit(() => writer.flushSync(), { alwaysLast: true });
    output = { writer, context: cassetteContext(config, policy) };
  }
  const replayer = new Replayer(library, policy, (plugin) => isServedFromCassette(config, plugin), config.determinism, output);
  replayer.replayProcess();
  return replayer;
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
