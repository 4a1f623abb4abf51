/**
 * Which connections strict replay lets out: those to an address TIMETRACER_ALLOW_CONNECT lists,
 * those of plugins that go live (TIMETRACER_LIVE_PLUGINS), and socket files no plugin owns (a
 * process manager's, not a dependency). A plugin served from cassettes opens none when it is
 * instrumented, so its connection means it did not attach; a TCP connection no plugin owns comes
 * from a library timetracer does not cover. Either is refused, said once per opener and address
 * in a [MISS] line, and counted as a miss of the request that made it.
 */
import { activeSession } from '../context.js';
import { describeError, info, warn } from '../log.js';
import { describeDestination, matchesAddress, type AddressPattern } from '../net-address.js';
import { notAttachedProblem } from '../unattached.js';
import type { Connection, ConnectionOwner, ConnectionPolicy } from './connection-guard.js';
import { ConnectionRefusedError } from './miss.js';

export interface StrictReplayOptions {
  servedFromCassette(plugin: string): boolean;
  allowed: readonly AddressPattern[];
}

/** Why strict replay refuses a connection, in the words of its [MISS] line. */
function refusalReason({ owner, opener, destination }: Connection): string {
  if (owner === undefined) {
    return `timetracer instruments no library that opened it (${opener}), and strict replay lets no such connection out; TIMETRACER_ALLOW_CONNECT=${describeDestination(destination)} would`;
  }
  const problem = notAttachedProblem(owner);
  return problem
    ? `${owner} is not instrumented (${problem}), so strict replay refuses its connections`
    : `replay serves ${owner} without connecting, and this connection came from a path it does not serve`;
}

/** `owners`: where each dependency plugin's code lives, to tell whose connection a socket is. */
export function strictReplayPolicy(owners: ConnectionOwner[], options: StrictReplayOptions): ConnectionPolicy {
  const said = new Set<string>();
  let faultSaid = false;
  return {
    owners,
    refusal(connection) {
      if (options.allowed.some((pattern) => matchesAddress(pattern, connection.destination))) return undefined;
      if (connection.owner !== undefined && !options.servedFromCassette(connection.owner)) return undefined;
      // A socket file no plugin owns is the machine's own business (a process manager's, say), not a dependency.
      if (connection.owner === undefined && 'path' in connection.destination) return undefined;
      const reason = refusalReason(connection);
      const address = describeDestination(connection.destination);
      const miss = new ConnectionRefusedError(`${connection.owner ?? connection.opener} connection to ${address}`, address, reason);
      activeSession()?.replay?.noteMiss();
      const line = `timetracer [MISS] ${miss.call} refused; ${reason}`;
      if (!said.has(line)) {
        said.add(line);
        info(line);
      }
      return miss;
    },
    fault(error) {
      if (faultSaid) return;
      faultSaid = true;
      warn(`could not tell whose connection a socket is (${describeError(error)}); it goes through unchecked`);
    },
  };
}
