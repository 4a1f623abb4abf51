/**
 * ObjectIds made while a request is handled (by the driver for a document without `_id`, by
 * Mongoose for a new model, by the app itself) hold the clock and a random part: replayed, the
 * same code would make other ids, send other commands and answer with other ids. So record notes
 * each id a request makes and stores them with its next MongoDB call; replay hands the same ids
 * out again, in the same order, to the same request.
 *
 * bson's ObjectId class is replaced in bson's exports by a Proxy: everything reading
 * `bson.ObjectId` (the driver, `mongodb.ObjectId`, Mongoose) constructs through it, while
 * `instanceof`, the prototype and the static methods stay the original's. Ids bson makes while
 * reading a reply are not made anew and do not pass through it.
 */
import type { DependencyEvent, InstrumentationContext, Session } from '../../src/plugin.js';
import type { MongoRequest } from './documents.js';

export interface ObjectIdInstance {
  toHexString(): string;
}

export type ObjectIdClass = new (id?: unknown, offset?: number) => ObjectIdInstance;

/** Record: ids a session made since its last MongoDB call. */
const made = new WeakMap<Session, string[]>();
/** Replay: the ids a session's recording holds, and how many have been handed out. */
const recorded = new WeakMap<Session, { ids: string[]; next: number }>();

/** `new ObjectId()` and `new ObjectId(time)` make a new id; anything else rebuilds a given one. */
function makesNewId(args: unknown[]): boolean {
  return (args[0] == null || typeof args[0] === 'number') && args[1] === undefined;
}

export function noteObjectIds(ObjectId: ObjectIdClass, ctx: InstrumentationContext): ObjectIdClass {
  return new Proxy(ObjectId, {
    construct(target, args: unknown[], newTarget) {
      const session = makesNewId(args) ? ctx.session() : undefined;
      const replayed = session && ctx.replaying ? nextRecordedId(session, ctx) : undefined;
      const id = Reflect.construct(target, replayed ? [replayed] : args, newTarget) as ObjectIdInstance;
      if (session && ctx.mode === 'record') {
        const ids = made.get(session) ?? [];
        ids.push(id.toHexString());
        made.set(session, ids);
      }
      return id;
    },
  });
}

/** Record: the ids made since the session's previous MongoDB call, for the call starting now. */
export function takeObjectIds(ctx: InstrumentationContext): string[] | undefined {
  const session = ctx.session();
  const ids = session && made.get(session);
  if (!session || !ids?.length) return undefined;
  made.delete(session);
  return ids;
}

function nextRecordedId(session: Session, ctx: InstrumentationContext): string | undefined {
  let state = recorded.get(session);
  if (!state) {
    state = { ids: ctx.recordings().flatMap(objectIdsOf), next: 0 };
    recorded.set(session, state);
  }
  return state.ids[state.next++];
}

function objectIdsOf(event: DependencyEvent): string[] {
  return event.type === 'mongodb' ? ((event.request as MongoRequest | undefined)?.object_ids ?? []) : [];
}
