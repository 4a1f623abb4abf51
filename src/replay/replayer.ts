/**
 * Replay mode: each inbound request gets a session served by the cassette recorded for it; at
 * the end of the request, one line says how its calls were served and which recordings it left
 * unused.
 */
import type { BodyPolicy } from '../cassette/body.js';
import { Session, setProcessSession } from '../context.js';
import { requestBody, splitUrl } from '../inbound/describe.js';
import type { InboundExchange, SessionLifecycle } from '../inbound/server.js';
import { describeError, displayPath, formatMs, info, warn } from '../log.js';
import { buildCassette, type CassetteContext } from '../inbound/cassette.js';
import type { CassetteWriter } from '../record/writer.js';
import type { CassetteLibrary, RequestKey } from './library.js';
import { describeEvent } from './miss.js';
import { ReplaySource } from './source.js';

export class Replayer implements SessionLifecycle {
  /** Each request session's source, for the line said at its end. */
  private readonly sources = new WeakMap<Session, ReplaySource>();

  /**
   * `servedFromCassette(plugin)`: false for plugins that go live, whose recordings are not expected
   * to be used. `output`: where each replayed request is written as a cassette (TIMETRACER_REPLAY_DIR).
   */
  constructor(
    private readonly library: CassetteLibrary,
    private readonly policy: BodyPolicy,
    private readonly servedFromCassette: (plugin: string) => boolean,
    private readonly determinism: boolean,
    private readonly output?: { writer: CassetteWriter; context: CassetteContext },
  ) {}

  begin(): Session {
    return new Session();
  }

  attach(session: Session, exchange: InboundExchange): void {
    const source = new ReplaySource(
      () => this.library.choose(this.keyOf(exchange)),
      (lookup, own) => this.library.borrow(lookup, own),
      {
        keepCalls: this.output !== undefined,
        liveRequest: () => ({ headers: exchange.req.headers, body: exchange.requestBody.result().bytes }),
      },
    );
    session.replay = source;
    this.sources.set(session, source);
    if (this.determinism) session.reads = source.reads;
  }

  end(session: Session, exchange: InboundExchange): void {
    const source = this.sources.get(session)!;
    const choice = source.chosen();
    const unused = source.unused().filter((event) => this.servedFromCassette(event.signature.lib));
    const { method = 'GET' } = exchange.req;
    const matched = !choice.cassette ? 'NO-CASSETTE' : source.misses || unused.length ? 'MISS' : 'OK';
    const detail = matched === 'MISS' ? ` misses=${source.misses} unused=${unused.length}` : '';
    const borrowed = source.borrowed ? ` borrowed=${source.borrowed}` : '';
    const past = source.reads.describePast();
    const live = past ? ` live-reads=${source.reads.pastCount}` : '';
    info(
      `timetracer replay ${method} ${splitUrl(exchange.url).path} mocked=${source.mocked}${borrowed} matched=${matched}${detail}${live} runtime=${formatMs(exchange.durationMs)}`,
    );
    if (!choice.cassette) info(`  ${choice.reason}`);
    if (past && choice.cassette) info(`  determinism: ${past} past the recording, answered live`);
    for (const event of unused) info(`  unused: ${describeEvent(event)}`);
    if (this.output) this.write(session, exchange, source, choice.cassette ? choice.file : undefined);
  }

  /** The replayed request as a cassette, to `diff` against the one it was replayed from. */
  private write(session: Session, exchange: InboundExchange, source: ReplaySource, replayOf: string | undefined): void {
    const { writer, context } = this.output!;
    try {
      const events = source.calls.map((event, i) => ({ ...event, eid: i + 1 }));
      const cassette = buildCassette(session, exchange, events, context, { replayOf: replayOf && displayPath(replayOf) });
      writer.submit(cassette, (file) => info(`  replayed: ${displayPath(file)}`));
    } catch (error) {
      warn(
        `could not write the replay of ${exchange.req.method} ${splitUrl(exchange.url).path} (${describeError(error)}); the app is unaffected`,
      );
    }
  }

  /**
   * From now on, calls made outside requests are served from the library's process cassette:
   * by signature and n-th occurrence, a timer's call made more often than recorded getting its
   * last recording again.
   */
  replayProcess(): void {
    const session = new Session('process');
    const source = new ReplaySource(
      () => this.library.chooseProcess(),
      (lookup, own) => this.library.borrow(lookup, own),
      { repeatLast: true },
    );
    session.replay = source;
    if (this.determinism) session.reads = source.reads;
    setProcessSession(session);
  }

  private keyOf(exchange: InboundExchange): RequestKey {
    const { req } = exchange;
    const { path, query } = splitUrl(exchange.url);
    return {
      method: req.method ?? 'GET',
      path,
      query: this.policy.redactor.query(query),
      // Only a body that has fully arrived can tell requests apart.
      bodySha256: req.complete ? (requestBody(exchange, this.policy)?.sha256 ?? null) : undefined,
    };
  }
}
