/**
 * Record mode: each inbound request gets a session and a call log; once its response has gone
 * out and its calls have ended, the session becomes a cassette, written in the background.
 */
import type { IncomingMessage } from 'node:http';
import { isFailure } from '../cassette/failure.js';
import type { Cassette } from '../cassette/schema.js';
import { isExcludedPath, type Config } from '../config.js';
import { Session } from '../context.js';
import { buildCassette, type CassetteContext } from '../inbound/cassette.js';
import { splitUrl } from '../inbound/describe.js';
import type { InboundExchange, SessionLifecycle } from '../inbound/server.js';
import { debug, describeError, displayPath, formatCounts, formatMs, info, warn } from '../log.js';
import { ReadRecorder } from '../determinism/streams.js';
import { CallLog, MAX_CALLS_PER_SESSION } from './call-log.js';
import type { LoadShedder } from './load-shedding.js';
import type { CassetteWriter } from './writer.js';

/** How long a finished request waits for calls it started but did not await. */
const CALL_GRACE_MS = 10_000;

export interface RecorderOptions {
  config: Config;
  context: CassetteContext;
  writer: CassetteWriter;
  /** Records fewer requests while the writer or the event loop falls behind (TIMETRACER_SHED_LOAD). */
  shedder?: LoadShedder;
  /** Called when the app first listens: its start-up is over. */
  started?: () => void;
}

const random = Math.random;

interface OpenRequest {
  exchange: InboundExchange;
  calls: CallLog;
  reads: ReadRecorder | undefined;
}

/** At most this many clock and random reads kept per request. */
const MAX_READS_PER_REQUEST = 10_000;

export class Recorder implements SessionLifecycle {
  /** Sessions whose cassette is not built yet: in flight, or waiting for their calls. */
  private readonly open = new Map<Session, OpenRequest>();
  private listened = false;

  constructor(private readonly options: RecorderOptions) {}

  listening(): void {
    if (this.listened) return;
    this.listened = true;
    this.options.started?.();
  }

  begin(req: IncomingMessage): Session | undefined {
    const { config } = this.options;
    if (isExcludedPath(config, splitUrl(req.url).path)) return undefined;
    if (config.sampleRate < 1 && random() >= config.sampleRate) return undefined;
    if (this.options.shedder && !this.options.shedder.admit()) return undefined;
    return new Session();
  }

  attach(session: Session, exchange: InboundExchange): void {
    const calls = new CallLog(session.t0);
    const reads = this.options.config.determinism ? new ReadRecorder(MAX_READS_PER_REQUEST) : undefined;
    session.calls = calls;
    session.reads = reads;
    this.open.set(session, { exchange, calls, reads });
  }

  end(session: Session): void {
    const open = this.open.get(session);
    if (!open) return;
    void open.calls.settled(CALL_GRACE_MS).then(() => {
      // Off the request's path: the response is out, the event loop serves others first.
      setImmediate(() => {
        if (!this.open.delete(session)) return;
        this.keep(session, open);
      });
    });
  }

  /** The process is exiting: builds what is left and hands it to the writer, which writes it synchronously. */
  flushSync(): void {
    // The end waits TIMETRACER_FLUSH_TIMEOUT_MS at most, building what is left and writing it.
    const deadline = Date.now() + this.options.config.flushTimeoutMs;
    let late = 0;
    for (const [session, open] of this.open) {
      if (Date.now() >= deadline) {
        late++;
        continue;
      }
      if (!open.exchange.durationMs) open.exchange.durationMs = session.elapsed();
      this.keep(session, open);
    }
    this.open.clear();
    this.options.writer.flushSync(deadline);
    if (late)
      warn(`${late} request(s) still open when the process ended were not recorded, for want of time (TIMETRACER_FLUSH_TIMEOUT_MS)`);
    const shed = this.options.shedder?.skipped;
    if (shed) warn(`${shed} request(s) were left unrecorded while recording shed load`);
  }

  private keep(session: Session, { exchange, calls, reads }: OpenRequest): void {
    try {
      const cassette = this.build(session, exchange, calls, reads);
      if (this.options.config.errorsOnly && !isFailure(cassette)) return;
      this.options.writer.submit(cassette, (file) => this.announce(cassette, file));
    } catch (error) {
      warn(`could not record ${exchange.req.method} ${splitUrl(exchange.url).path} (${describeError(error)}); the app is unaffected`);
    }
  }

  private build(session: Session, exchange: InboundExchange, calls: CallLog, reads: ReadRecorder | undefined): Cassette {
    const { events, unfinished, overLimit } = calls.close();
    if (unfinished) debug(`${unfinished} call(s) of request ${session.id} had not finished when its cassette was written; left out`);
    if (overLimit)
      warn(`request ${session.id} made more than ${MAX_CALLS_PER_SESSION} calls; the ${overLimit} after those are not in its cassette`);
    return buildCassette(session, exchange, events, this.options.context, { reads: reads?.recorded() });
  }

  private announce(cassette: Cassette, file: string): void {
    const { request, response, session, stats } = cassette;
    const tag = isFailure(cassette) ? '[ERROR]' : '[OK]';
    const status = response.status || 'none';
    info(
      `timetracer ${tag} recorded ${request.method} ${request.path} id=${session.id.slice(0, 4)} status=${status} total=${formatMs(stats.total_ms)} deps=${formatCounts(stats.event_counts)}`,
    );
    info(`  cassette: ${displayPath(file)}`);
  }
}
