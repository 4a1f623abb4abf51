/**
 * Inbound requests: every request an http or https server emits becomes a session. The session
 * is entered around the server's 'request' event, so the app's handler, and every callback it
 * schedules, runs inside it; the request and response bodies are tapped as they pass.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { activeSession, bindEmitter, runInSession, runOutsideSessions, type Session } from '../context.js';
import { activeTraceIds } from '../observability-agents.js';
import { BodyTap, tapReadable, tapWritable } from './capture.js';
import { isWrapped, markWrapped } from '../wrap.js';
import { describeError, warn } from '../log.js';

/** One inbound request and its response, as seen on the wire. */
export interface InboundExchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** `req.url` as the request arrived: routers rewrite `req.url` as they go (mount paths). */
  readonly url: string;
  readonly requestBody: BodyTap;
  readonly responseBody: BodyTap;
  /** Set when the handler threw out of the server's 'request' event. */
  thrown: unknown;
  durationMs: number;
}

/** What record and replay each do with inbound requests. */
export interface SessionLifecycle {
  /** A session for this request, or undefined to leave it alone (excluded path, not sampled). */
  begin(req: IncomingMessage): Session | undefined;
  /** Attaches the exchange to its session, before the handler runs. */
  attach(session: Session, exchange: InboundExchange): void;
  /** The response has gone out (or the connection closed first). */
  end(session: Session, exchange: InboundExchange): void;
  /** A server has started listening. */
  listening?(server: Server): void;
}

let faultReported = false;

/** A fault of ours around a request: said once, and the request goes on as without the agent. */
function ownFault(fault: unknown): void {
  if (faultReported) return;
  faultReported = true;
  warn(`could not follow an inbound request (${describeError(fault)}); the app is unaffected`);
}

type Emit = (this: Server, event: string | symbol, ...args: unknown[]) => boolean;

/** Wraps `emit` of a server class's prototype (http.Server, https.Server). */
export function hookServer(prototype: object, lifecycle: SessionLifecycle, keepBytes: number): void {
  const serverPrototype = prototype as { emit: Emit };
  const emit = serverPrototype.emit;
  if (isWrapped(emit)) return;
  const wrapped = function emitWithSession(this: Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'listening') {
      noteTraces(this);
      lifecycle.listening?.(this);
    }
    if (event !== 'request') return emit.call(this, event, ...args);
    const [req, res] = args as [IncomingMessage, ServerResponse];
    let session: Session | undefined;
    let exchange: InboundExchange | undefined;
    try {
      session = lifecycle.begin(req);
      if (session) exchange = track(session, req, res, lifecycle, keepBytes);
    } catch (fault) {
      ownFault(fault);
      session = undefined;
    }
    // A request not recorded (excluded, not sampled): its calls are nobody's, not the process's.
    if (!session) return runOutsideSessions(() => emit.call(this, event, ...args));
    try {
      return runInSession(session, () => emit.call(this, event, ...args));
    } catch (error) {
      if (exchange) exchange.thrown = error;
      throw error;
    }
  };
  serverPrototype.emit = markWrapped(wrapped, emit);
}

const NOTES_TRACES = Symbol('timetracer.notesTraces');

/**
 * Notes the OpenTelemetry span of each request a server handles. Read from a 'request' listener
 * that runs before the app's, not where the session begins: an OpenTelemetry agent's own wrapper
 * of `emit` (which starts the request's span) may run inside timetracer's or around it, as either
 * was loaded first, but every listener runs inside both.
 */
function noteTraces(server: Server): void {
  const marked = server as Server & { [NOTES_TRACES]?: true };
  if (marked[NOTES_TRACES]) return;
  marked[NOTES_TRACES] = true;
  server.prependListener('request', function noteTrace() {
    const session = activeSession();
    if (session && session.trace === undefined) session.trace = activeTraceIds();
  });
}

function track(
  session: Session,
  req: IncomingMessage,
  res: ServerResponse,
  lifecycle: SessionLifecycle,
  keepBytes: number,
): InboundExchange {
  const exchange: InboundExchange = {
    req,
    res,
    url: req.url ?? '/',
    requestBody: new BodyTap(keepBytes),
    responseBody: new BodyTap(keepBytes),
    thrown: undefined,
    durationMs: 0,
  };
  tapReadable(req, exchange.requestBody);
  tapWritable(res, exchange.responseBody);
  // Body 'data'/'end' events fire from the socket, outside the session: bind them back into it.
  bindEmitter(req, session);
  bindEmitter(res, session);
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    session.end();
    exchange.durationMs = session.elapsed();
    try {
      lifecycle.end(session, exchange);
    } catch (fault) {
      ownFault(fault);
    }
  };
  res.once('finish', end);
  res.once('close', end);
  lifecycle.attach(session, exchange);
  return exchange;
}
