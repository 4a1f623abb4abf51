/**
 * The context each plugin is handed (`InstrumentationContext`): its calls recorded into the
 * current session, or answered from it in replay, with misses strict or live as configured.
 */
import type { BodyPolicy } from './cassette/body.js';
import { saltedHashIn } from './cassette/call-key.js';
import type { Signature } from './cassette/schema.js';
import { ReplayMissError } from './calls.js';
import type { Config } from './config.js';
import { activeSession, bindEmitter, currentSession, runInSession, runOutsideSessions } from './context.js';
import type { Instrumentation, InstrumentationContext, ReplayOutcome } from './instrumentation.js';
import { info } from './log.js';
import { isAgentTraffic } from './observability-agents.js';
import { missOutsideSession } from './replay/source.js';
import { callerFiles, type StackAnchor } from './stack.js';
import { reportNotAttached } from './unattached.js';

/** Replay: whether a plugin's calls are served from cassettes (TIMETRACER_MOCK_PLUGINS / TIMETRACER_LIVE_PLUGINS). */
export function isServedFromCassette(config: Config, plugin: string): boolean {
  return (config.mockPlugins === null || config.mockPlugins.has(plugin)) && !config.livePlugins.has(plugin);
}

const saltsSaid = new Set<string>();

/** Replay matches natively salted hashes as any such hash (see cassette/call-key.ts): said once per kind. */
function sayOnceIfSalted(signature: Signature): void {
  const kind = saltedHashIn(signature);
  if (!kind || saltsSaid.has(kind)) return;
  saltsSaid.add(kind);
  info(
    `timetracer determinism: calls carry ${kind} hashes; a salt that native code draws itself (as @node-rs/bcrypt does) is out of timetracer's reach, so replay matches any ${kind} hash there`,
  );
}

/** What a plugin that found nothing to patch means for the app's calls, in this mode. */
function notAttachedConsequence(config: Config, instrumentation: Instrumentation): string {
  if (instrumentation.role === 'framework') return 'requests are recorded without its routes and errors';
  if (instrumentation.role === 'outcome') return 'what it works out is live in replay';
  if (config.mode === 'record') return 'its calls are not recorded';
  return config.strictReplay ? 'strict replay refuses its calls as misses' : 'its calls go live';
}

/** A call replay has no recording for: a miss in strict replay (or where it cannot go live), live otherwise. */
function missOutcome(config: Config, miss: ReplayMissError, canGoLive: boolean): Extract<ReplayOutcome, { kind: 'miss' | 'live' }> {
  if (!config.strictReplay && canGoLive) {
    info(`timetracer [MISS] ${miss.call} not recorded; ${miss.reason}; going live`);
    return { kind: 'live' };
  }
  info(`timetracer [MISS] ${miss.call} not recorded; ${miss.reason}`);
  return { kind: 'miss', error: miss };
}

/** Frames enough to reach, from a plugin's call, the agent's file that made it. */
const AGENT_STACK_DEPTH = 30;

function isAnotherAgentsCall(below: StackAnchor): boolean {
  return isAgentTraffic(() => callerFiles(below, AGENT_STACK_DEPTH));
}

export function contextFor(instrumentation: Instrumentation, config: Config, policy: BodyPolicy): InstrumentationContext {
  return {
    mode: config.mode === 'record' ? 'record' : 'replay',
    replaying: config.mode === 'replay' && isServedFromCassette(config, instrumentation.name),
    bodies: policy,
    session: activeSession,
    record: function record(type) {
      if (config.mode !== 'record' || isAnotherAgentsCall(record)) return undefined;
      return activeSession()?.calls?.start(type);
    },
    replay: function replay(lookup, { canGoLive = true } = {}): ReplayOutcome {
      // Another agent's own traffic (spans to its collector) is not the app's: it goes as it is.
      if (isAnotherAgentsCall(replay)) return { kind: 'live' };
      sayOnceIfSalted(lookup.signature);
      const session = activeSession();
      const answer = session?.replay ? session.replay.answer(lookup) : { miss: missOutsideSession(lookup) };
      if ('event' in answer) return { kind: 'recorded', event: answer.event };
      return missOutcome(config, answer.miss, canGoLive);
    },
    notAttached(problem) {
      reportNotAttached(instrumentation.name, problem, notAttachedConsequence(config, instrumentation));
    },
    unserved(call, problem) {
      activeSession()?.replay?.noteMiss();
      return missOutcome(config, new ReplayMissError(call, `${instrumentation.name} is not instrumented: ${problem}`), true);
    },
    recordings: () => activeSession()?.replay?.recordings() ?? [],
    bindToSession(fn) {
      const session = activeSession();
      if (!session) return fn;
      return ((...args: Parameters<typeof fn>) => runInSession(session, () => fn(...args))) as typeof fn;
    },
    outsideSession: runOutsideSessions,
    isAnotherAgentsCall,
    bind(emitter) {
      const session = activeSession();
      if (session) bindEmitter(emitter, session);
    },
    annotate(annotations) {
      currentSession()?.annotate(annotations);
    },
    outcome(key, kind, live) {
      const reads = activeSession()?.reads;
      return reads ? (reads.read(key, kind, live) as ReturnType<typeof live>) : live();
    },
  };
}
