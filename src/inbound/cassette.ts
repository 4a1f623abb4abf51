/** A finished inbound exchange and its calls as a cassette: what record writes, and replay when asked to. */
import path from 'node:path';
import type { BodyPolicy } from '../cassette/body.js';
import { roundMs, SCHEMA_VERSION, type Cassette, type DependencyEvent, type EventType, type SessionReads } from '../cassette/schema.js';
import type { Config } from '../config.js';
import type { Session } from '../context.js';
import { TIMETRACER_VERSION } from '../version.js';
import { describeRequest, describeResponse } from './describe.js';
import { encodeValue } from '../cassette/codec.js';
import { withoutSecretReads } from '../determinism/secret-reads.js';
import type { InboundExchange } from './server.js';

export interface CassetteContext {
  service: string;
  env: string;
  policy: BodyPolicy;
  versions: { node: string; timetracer: string };
}

export function cassetteContextOf(config: Pick<Config, 'service' | 'env'>, policy: BodyPolicy): CassetteContext {
  return { service: config.service, env: config.env, policy, versions: { node: process.version, timetracer: TIMETRACER_VERSION } };
}

/** The app's main script as it was started, relative to the working directory. */
export const ENTRY = process.argv[1] ? path.relative(process.cwd(), process.argv[1]) || process.argv[1] : undefined;

/** `reads`: what the request read from the clock and randomness, if kept; those that became a secret it sent are left out. */
export function buildCassette(
  session: Session,
  exchange: InboundExchange,
  events: DependencyEvent[],
  context: CassetteContext,
  { reads, replayOf }: { reads?: SessionReads | undefined; replayOf?: string | undefined } = {},
): Cassette {
  const eventCounts: Partial<Record<EventType, number>> = {};
  for (const event of events) eventCounts[event.type] = (eventCounts[event.type] ?? 0) + 1;
  const {
    value: [request, response],
    secrets,
  } = context.policy.redactor.collectSecrets(
    () => [describeRequest(exchange, session, context.policy), describeResponse(exchange, session, context.policy)] as const,
  );
  const kept = reads && withoutSecretReads(reads, secrets, () => JSON.stringify(encodeValue(events)));
  return {
    schema_version: SCHEMA_VERSION,
    session: {
      id: session.id,
      kind: 'request',
      recorded_at: session.startedAt.toISOString(),
      service: context.service,
      env: context.env,
      framework: session.framework,
      node: context.versions.node,
      timetracer: context.versions.timetracer,
      ...(ENTRY && { entry: ENTRY }),
      ...(replayOf && { replay_of: replayOf }),
      ...session.trace,
    },
    request,
    response,
    events,
    ...(kept && { reads: kept }),
    stats: { event_counts: eventCounts, total_ms: roundMs(exchange.durationMs) },
  };
}
