/** Replay mode's start: the cassettes, the replayer of inbound requests, strict replay's connection guard. */
import type { BodyPolicy } from './cassette/body.js';
import type { Config } from './config.js';
import { onProcessEnd } from './exit.js';
import { cassetteContextOf, type CassetteContext } from './inbound/cassette.js';
import type { SessionLifecycle } from './inbound/server.js';
import { connectionOwners, type Instrumentation } from './instrumentation.js';
import { info, warn } from './log.js';
import { isServedFromCassette } from './plugin-context.js';
import { CassetteWriter } from './record/writer.js';
import { guardConnections } from './replay/connection-guard.js';
import { strictReplayPolicy } from './replay/connection-policy.js';
import { CassetteLibrary } from './replay/library.js';
import { Replayer } from './replay/replayer.js';

export function startReplaying(config: Config, policy: BodyPolicy): SessionLifecycle {
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
      redactor: policy.redactor,
      maxPending: config.maxPending,
      exitWaitMs: config.flushTimeoutMs,
    });
    onProcessEnd(() => writer.flushSync());
    output = { writer, context: cassetteContextOf(config, policy) };
  }
  const replayer = new Replayer(library, policy, (plugin) => isServedFromCassette(config, plugin), config.determinism, output);
  replayer.replayProcess();
  return replayer;
}

/** Strict replay: a connection no instrumentation serves is refused before any packet leaves. */
export function guardReplayConnections(config: Config, instrumentations: readonly Instrumentation[]): void {
  guardConnections(
    strictReplayPolicy(connectionOwners(instrumentations), {
      servedFromCassette: (plugin) => isServedFromCassette(config, plugin),
      allowed: config.allowConnect,
    }),
  );
}
