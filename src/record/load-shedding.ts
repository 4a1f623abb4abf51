/**
 * Recording sheds load on its own. Once a second it looks at how many cassettes wait to be
 * written and, when requests are many, how late the event loop ran: when either is past its
 * limit, it records half as many requests as before (down to 1 in 64), and says so; once both have been calm for a few
 * seconds, it doubles the share again, up to every request TIMETRACER_SAMPLE_RATE chooses. A
 * burst can then never make recording cost the service more than it can spare.
 */
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { info, warn } from '../log.js';

/**
 * Cassettes waiting to be written past which the writer is taken to be falling behind: this
 * many, or half the most that may wait (TIMETRACER_MAX_PENDING) where that is fewer.
 */
const PENDING_LIMIT = 256;
/** Event loop delay (99th percentile over a check's second) past which the app is taken to be struggling. */
export const LAG_LIMIT_MS = 100;
/**
 * Requests recorded in a check's second below which a late event loop is not recording's doing
 * (an app loading its modules at start, one slow handler): recording fewer would not help it.
 */
export const BUSY_REQUESTS = 50;
const CHECK_MS = 1_000;
/** Calm checks in a row before the share recorded doubles again. */
const CALM_CHECKS = 3;
const LOWEST_SHARE = 1 / 64;
/** At most one line about shedding in this long, however the pressure comes and goes. */
const QUIET_MS = 60_000;

const random = Math.random;

export class LoadShedder {
  /** The share of (sampled) requests recorded now. */
  private share = 1;
  private calm = 0;
  private lastLineAt = Number.NEGATIVE_INFINITY;
  /** Requests left unrecorded to shed load. */
  skipped = 0;
  private readonly delay: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;

  private readonly pendingLimit: number;

  constructor(
    private readonly pending: () => number,
    maxPending: number,
  ) {
    this.pendingLimit = Math.min(PENDING_LIMIT, Math.ceil(maxPending / 2));
    this.delay = monitorEventLoopDelay({ resolution: 20 });
    this.delay.enable();
    this.timer = setInterval(() => this.check(), CHECK_MS).unref();
  }

  /** Requests admitted, and admitted or skipped as of the last check. */
  private admitted = 0;
  private seen = 0;

  /** Whether to record this request. */
  admit(): boolean {
    if (this.share >= 1 || random() < this.share) {
      this.admitted++;
      return true;
    }
    this.skipped++;
    return false;
  }

  private check(): void {
    const lagMs = this.delay.percentile(99) / 1e6;
    this.delay.reset();
    const busy = this.admitted + this.skipped - this.seen >= BUSY_REQUESTS;
    this.seen = this.admitted + this.skipped;
    const pending = this.pending();
    if (pending > this.pendingLimit || (busy && lagMs > LAG_LIMIT_MS)) {
      this.calm = 0;
      if (this.share <= LOWEST_SHARE) return;
      this.share /= 2;
      const why =
        pending > this.pendingLimit ? `${pending} cassettes are waiting to be written` : `the event loop ran ${Math.round(lagMs)} ms late`;
      this.say(
        `recording sheds load: ${why}; recording 1 request in ${Math.round(1 / this.share)} until it calms down (the app is unaffected)`,
      );
    } else if (this.share < 1 && ++this.calm >= CALM_CHECKS) {
      this.calm = 0;
      this.share = Math.min(1, this.share * 2);
      if (this.share === 1) info('timetracer recording is calm again: recording as configured');
    }
  }

  private say(line: string): void {
    const now = performance.now();
    if (now - this.lastLineAt < QUIET_MS) return;
    this.lastLineAt = now;
    warn(line);
  }

  stop(): void {
    clearInterval(this.timer);
    this.delay.disable();
  }
}
