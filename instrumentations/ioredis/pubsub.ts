/**
 * Pub/sub on ioredis. A client that subscribes within a request records the messages it then
 * receives, while that request is being recorded, as `redis` events named after their kind
 * (`message`, `pmessage`, `smessage`), each with the reply the server pushed. In replay,
 * answering SUBSCRIBE puts the client in subscriber mode as the server's replies would, and the
 * request's recorded messages for what it subscribed to are delivered in their turn (once the
 * commands recorded before them have been answered), emitted the way ioredis emits them.
 */
import type { EventEmitter } from 'node:events';
import type { DependencyEvent, InstrumentationContext } from '../../src/plugin.js';
import { restoreReply, storeArgs, storeReply, type ReplyClasses, type StoredReply } from './replies.js';

/** The events ioredis always emits for a pushed message (the string ones only with listeners). */
const MESSAGE_EVENTS: ReadonlyMap<string | symbol, string> = new Map([
  ['messageBuffer', 'message'],
  ['pmessageBuffer', 'pmessage'],
  ['smessageBuffer', 'smessage'],
]);
const SUBSCRIBE = new Set(['subscribe', 'psubscribe', 'ssubscribe']);
const UNSUBSCRIBE = new Set(['unsubscribe', 'punsubscribe', 'sunsubscribe']);

export interface SubscriptionSet {
  add(kind: string, channel: string): void;
  del(kind: string, channel: string): void;
  channels(kind: string): string[];
  isEmpty(): boolean;
}

export interface PubSubClasses extends ReplyClasses {
  subscriptionSet?: new () => SubscriptionSet;
}

const RECORD_MESSAGE = Symbol('timetracer.ioredis.recordMessage');

export interface PubSubClient extends EventEmitter {
  condition?: { subscriber?: SubscriptionSet | false; [field: string]: unknown };
  [RECORD_MESSAGE]?: (kind: string, args: unknown[]) => void;
}

export function isSubscription(command: string): boolean {
  return SUBSCRIBE.has(command) || UNSUBSCRIBE.has(command);
}

/** Record: from now on, messages the client receives are recorded in the current session. */
export function recordMessagesOf(client: PubSubClient, ctx: InstrumentationContext): void {
  client[RECORD_MESSAGE] = ctx.bindToSession((kind: string, args: unknown[]) => {
    const call = ctx.record('redis');
    // A message names its channel (pmessage: its pattern and channel), then carries its payload.
    const names = args.slice(0, kind === 'pmessage' ? 2 : 1);
    call?.end(() => ({
      signature: { lib: 'ioredis', command: kind, args: storeArgs(names) },
      result: { reply: storeReply([kind, ...args]) },
    }));
  });
}

/** Record: called for every event the client emits. */
export function noteEmitted(client: PubSubClient, event: string | symbol, args: unknown[]): void {
  const kind = MESSAGE_EVENTS.get(event);
  if (kind) client[RECORD_MESSAGE]?.(kind, args);
}

function textOf(value: StoredReply | undefined): string | undefined {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && 'text' in value) return value.text;
  return undefined;
}

/** Replay: (un)subscribing changes the client's subscriptions as the server's replies would, then subscribed messages come. */
export function replaySubscription(
  client: PubSubClient,
  name: string,
  channels: unknown[],
  count: unknown,
  ctx: InstrumentationContext,
  classes: PubSubClasses,
): void {
  const condition = client.condition;
  if (!condition) return;
  if (SUBSCRIBE.has(name)) {
    const subscriber = condition.subscriber || (classes.subscriptionSet && new classes.subscriptionSet());
    if (!subscriber) return;
    condition.subscriber = subscriber;
    for (const channel of channels) subscriber.add(name, String(channel));
    deliverMessages(client, ctx, classes);
    return;
  }
  if (!condition.subscriber) return;
  for (const channel of channels) condition.subscriber.del(name, String(channel));
  if (Number(count) === 0 || condition.subscriber.isEmpty()) condition.subscriber = false;
}

/**
 * Replay's pub/sub state of one request: the recorded commands answered so far, and the messages
 * waiting for their turn. A message comes once every command recorded before it has been
 * answered (the PUBLISH that caused it, typically), never by the clock: a replay runs at its own
 * pace, and a message delivered early would find no listener.
 */
interface SessionMessages {
  answered: Set<number>;
  waiting: Array<{ event: DependencyEvent; deliver: () => void }>;
  scheduled: Set<DependencyEvent>;
}

const sessions = new WeakMap<object, SessionMessages>();

function stateOf(session: object): SessionMessages {
  let state = sessions.get(session);
  if (!state) {
    state = { answered: new Set(), waiting: [], scheduled: new Set() };
    sessions.set(session, state);
  }
  return state;
}

const isMessage = (event: DependencyEvent): boolean =>
  event.type === 'redis' && [...MESSAGE_EVENTS.values()].includes(event.signature.command as string);

function subscribedTo(client: PubSubClient, event: DependencyEvent): boolean {
  const subscriber = client.condition?.subscriber;
  if (!subscriber) return false;
  const kind = event.signature.command as string;
  const name = textOf((event.signature.args as StoredReply[])[0]);
  const set = kind === 'pmessage' ? 'psubscribe' : kind === 'smessage' ? 'ssubscribe' : 'subscribe';
  return name !== undefined && subscriber.channels(set).includes(name);
}

/** Replay: a recorded command of the current session has been answered; messages it let through come. */
export function noteAnswered(event: DependencyEvent, ctx: InstrumentationContext): void {
  const session = ctx.session();
  if (!session) return;
  const state = stateOf(session);
  state.answered.add(event.eid);
  deliverDue(state, ctx.recordings());
}

function deliverDue(state: SessionMessages, recordings: readonly DependencyEvent[]): void {
  const due = state.waiting.filter(({ event }) =>
    recordings.every((before) => before.eid >= event.eid || isMessage(before) || state.answered.has(before.eid)),
  );
  state.waiting = state.waiting.filter((item) => !due.includes(item));
  // After the answer's own callbacks, as a message on another connection would come.
  for (const { deliver } of due) setImmediate(deliver);
}

/** The request's recorded messages for what the client now subscribes to, each in its turn. */
function deliverMessages(client: PubSubClient, ctx: InstrumentationContext, classes: ReplyClasses): void {
  const session = ctx.session();
  if (!session) return;
  const state = stateOf(session);
  const recordings = ctx.recordings();
  for (const event of recordings) {
    if (!isMessage(event) || state.scheduled.has(event) || !subscribedTo(client, event)) continue;
    state.scheduled.add(event);
    const deliver = ctx.bindToSession(() => {
      const outcome = ctx.replay({ type: 'redis', signature: event.signature });
      if (outcome.kind !== 'recorded') return;
      const reply = restoreReply((outcome.event.result as { reply: StoredReply }).reply, classes) as unknown[];
      emitMessage(client, reply);
    });
    state.waiting.push({ event, deliver });
  }
  deliverDue(state, recordings);
}

/** What ioredis does with a pushed message (DataHandler#handleSubscriberReply). */
function emitMessage(client: PubSubClient, [kind, ...parts]: unknown[]): void {
  const text = (value: unknown): string => (value === undefined || value === null ? '' : String(value));
  if (kind === 'pmessage') {
    const [pattern, channel, message] = parts;
    if (client.listeners('pmessage').length > 0) client.emit('pmessage', text(pattern), text(channel), text(message));
    client.emit('pmessageBuffer', text(pattern), channel, message);
    return;
  }
  const [channel, message] = parts;
  if (client.listeners(kind as string).length > 0) client.emit(kind as string, text(channel), text(message));
  client.emit(`${String(kind)}Buffer`, channel, message);
}
