/**
 * Which connections strict replay refuses: those a plugin served from cassettes opens (it should
 * have opened none), each said once per address in a [MISS] line and counted as a miss of the
 * request that made it. Connections of live plugins, and of libraries timetracer does not
 * instrument, go through.
 */
import { currentSession } from '../context.js';
import type { Instrumentation } from '../instrumentation.js';
import { describeError, info, warn } from '../log.js';
import { notAttachedProblem } from '../unattached.js';
import type { ConnectionOwner, ConnectionPolicy } from './connection-guard.js';
import { ReplayMissError } from './miss.js';

/** Where each dependency plugin's code lives, to tell whose connection a socket is. */
function connectionOwners(instrumentations: readonly Instrumentation[]): ConnectionOwner[] {
  return instrumentations.filter((i) => i.role === 'dependency').map(({ name, hooks }) => ({
    plugin: name,
    sources: hooks.flatMap((hook) => ('connectsFrom' in hook ? hook.connectsFrom ?? [] : 'versions' in hook ? [`/node_modules/${hook.module}/`] : [])),
  }));
}

export function strictReplayPolicy(instrumentations: readonly Instrumentation[], servedFromCassette: (plugin: string) => boolean): ConnectionPolicy {
  const said = new Set<string>();
  const once = (line: string) => {
    if (said.has(line)) return;
    said.add(line);
    info(line);
  };
  let faultSaid = false;
  return {
    owners: connectionOwners(instrumentations),
    refusal(plugin, address) {
      if (!servedFromCassette(plugin)) return undefined;
      const problem = notAttachedProblem(plugin);
      const reason = problem
        ? `${plugin} is not instrumented (${problem}), so strict replay refuses its connections`
        : `replay serves ${plugin} without connecting, and this connection came from a path it does not serve`;
      const miss = new ReplayMissError(`${plugin} connection to ${address}`, reason);
      currentSession()?.replay?.noteMiss();
      once(`timetracer [MISS] ${miss.call} refused; ${reason}`);
      return miss;
    },
    unowned(address) {
      once(`timetracer replay: a connection to ${address} goes live; timetracer instruments no library that opened it`);
    },
    fault(error) {
      if (faultSaid) return;
      faultSaid = true;
      warn(`could not tell whose connection a socket is (${describeError(error)}); it goes through unchecked`);
    },
  };
}
