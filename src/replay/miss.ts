/** The error a dependency call gets in strict replay when no recording matches it. */
import { REPLAY_MISS } from '../calls.js';
import type { DependencyEvent, EventType, Signature } from '../cassette/schema.js';
import type { Nearest } from './matcher.js';

const MAX_LABEL = 100;

/** `http.client GET https://api.example.com/users/1`: a call in one line, from its signature. */
export function describeCall(type: EventType, signature: Signature): string {
  const parts: string[] = [];
  for (const [field, value] of Object.entries(signature)) {
    if (field === 'lib' || field.endsWith('sha256') || value === undefined || value === null) continue;
    parts.push(typeof value === 'string' ? value : (JSON.stringify(value, labelValue) ?? String(value)));
  }
  const text = `${type} ${parts.join(' ')}`.replace(/\s+/g, ' ').trim();
  return text.length > MAX_LABEL ? `${text.slice(0, MAX_LABEL - 1)}…` : text;
}

/** JSON.stringify cannot write a BigInt (Prisma arguments hold them): `5n`, as JavaScript writes it. */
function labelValue(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}

export function describeEvent(event: DependencyEvent): string {
  return `eid ${event.eid} ${describeCall(event.type, event.signature)}`;
}

/**
 * A connection strict replay refused. It fails as a connection to a stopped server fails
 * (ECONNREFUSED, from `connect`), so a library handles it as it handles a server that is down
 * (many retry those quietly, and crash on errors they do not know); `timetracer` marks it as
 * replay's doing, and the [MISS] line says why.
 */
export class ConnectionRefusedError extends Error {
  override name = 'ConnectionRefusedError';
  readonly code = 'ECONNREFUSED';
  readonly errno = -111;
  readonly syscall = 'connect';
  readonly timetracer = REPLAY_MISS;

  constructor(
    readonly call: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(`connect ECONNREFUSED ${address} (timetracer refused it: ${reason})`);
  }
}

/** Why nothing matched, in the words of the [MISS] line. */
export function missReason(nearest: Nearest | undefined, cassetteNote: string | undefined): string {
  if (cassetteNote) return cassetteNote;
  if (!nearest) return 'no call of this kind was recorded in the cassette';
  const shown = nearest.differences.slice(0, 3).join(', ');
  const more = nearest.differences.length > 3 ? ` (+${nearest.differences.length - 3} more)` : '';
  return nearest.differences.length
    ? `nearest: eid ${nearest.event.eid}, ${shown}${more}`
    : `nearest: eid ${nearest.event.eid} is identical but was already used (the call was made more times than recorded)`;
}
