/**
 * Writes cassettes in the background, one at a time, after the responses they describe have
 * gone out. The queue is bounded: when the disk cannot keep up, new cassettes are dropped and
 * counted rather than the app slowed or its memory grown. On exit, what is queued or being
 * written is written synchronously, so nothing recorded is lost.
 */
import type { Cassette } from '../cassette/schema.js';
import type { CassetteStore } from '../cassette/store.js';
import { describeError, warn } from '../log.js';

export interface WriteJob {
  cassette: Cassette;
  /** Called with the file written. */
  written(file: string): void;
}

interface QueuedJob extends WriteJob {
  /** Written already: by the exit flush while its own write was still under way. */
  done: boolean;
}

export class CassetteWriter {
  private readonly queue: QueuedJob[] = [];
  private inFlight: QueuedJob | undefined;
  private dropped = 0;
  private failed = 0;
  private lastFailure: string | undefined;

  constructor(private readonly store: CassetteStore, private readonly maxQueued = 1000) {}

  submit(job: WriteJob): void {
    if (this.queue.length >= this.maxQueued) {
      if (this.dropped++ === 0) warn(`cassettes are being written slower than they are recorded; dropping new ones (the app is unaffected)`);
      return;
    }
    this.queue.push({ ...job, done: false });
    if (!this.inFlight) void this.drain();
  }

  private async drain(): Promise<void> {
    while ((this.inFlight = this.queue.shift())) {
      const job = this.inFlight;
      try {
        const file = await this.store.write(job.cassette);
        if (!job.done) job.written(file);
      } catch (error) {
        if (!job.done) this.fail(error);
      }
      job.done = true;
    }
  }

  private fail(error: unknown): void {
    this.failed++;
    const text = describeError(error);
    // One line per distinct cause, not one per request.
    if (text !== this.lastFailure) {
      this.lastFailure = text;
      warn(`could not write a cassette (${text}); the app carries on, cassettes are not being kept`);
    }
  }

  /** Writes everything still pending, blocking: the process is about to exit. */
  flushSync(): void {
    const jobs = this.inFlight ? [this.inFlight, ...this.queue] : [...this.queue];
    this.queue.length = 0;
    this.inFlight = undefined;
    for (const job of jobs) {
      job.done = true;
      try {
        job.written(this.store.writeSync(job.cassette));
      } catch (error) {
        this.fail(error);
      }
    }
    if (this.dropped) warn(`${this.dropped} cassette(s) were dropped because the disk could not keep up`);
    if (this.failed) warn(`${this.failed} cassette(s) could not be written`);
    this.dropped = 0;
    this.failed = 0;
  }
}
