/**
 * Writes cassettes in the background, after the responses they describe have gone out. A
 * cassette is encoded when it is handed over, then written by a few writes at a time. The queue
 * is bounded by bytes: when the disk cannot keep up, new cassettes are dropped and counted
 * rather than the app slowed or its memory grown. On exit, what is queued or being written is
 * written synchronously, so nothing recorded is lost.
 */
import type { Cassette } from '../cassette/schema.js';
import type { CassetteStore, EncodedCassette } from '../cassette/store.js';
import { newSessionId } from '../context.js';
import { describeError, warn } from '../log.js';

export interface WriterLimits {
  /** Encoded cassettes waiting to be written, in bytes. */
  maxQueuedBytes: number;
  /** Writes under way at once (they share libuv's thread pool with the app). */
  concurrency: number;
}

const DEFAULT_LIMITS: WriterLimits = { maxQueuedBytes: 64 * 1024 * 1024, concurrency: 3 };

/** A cassette's name is taken (its random id drawn twice): a fresh id, this many times at most. */
const RENAMES = 3;

interface Job {
  cassette: Cassette;
  encoded: EncodedCassette;
  written(file: string): void;
  /** Written already: by the exit flush while its own write was still under way. */
  done: boolean;
}

export class CassetteWriter {
  private readonly queue: Job[] = [];
  private queuedBytes = 0;
  private readonly inFlight = new Set<Job>();
  private dropped = 0;
  private failed = 0;
  private lastFailure: string | undefined;
  private readonly limits: WriterLimits;

  constructor(private readonly store: CassetteStore, limits: Partial<WriterLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Encodes the cassette now and queues its write; `written` is called with the file. */
  submit(cassette: Cassette, written: (file: string) => void): void {
    const encoded = this.store.encode(cassette);
    if (this.queuedBytes + encoded.bytes.length > this.limits.maxQueuedBytes && this.queue.length > 0) {
      if (this.dropped++ === 0) warn('cassettes are being written slower than they are recorded; dropping new ones (the app is unaffected)');
      return;
    }
    this.queue.push({ cassette, encoded, written, done: false });
    this.queuedBytes += encoded.bytes.length;
    this.pump();
  }

  private pump(): void {
    while (this.inFlight.size < this.limits.concurrency && this.queue.length) {
      const job = this.queue.shift()!;
      this.queuedBytes -= job.encoded.bytes.length;
      this.inFlight.add(job);
      void this.writeOne(job).finally(() => {
        this.inFlight.delete(job);
        this.pump();
      });
    }
  }

  private async writeOne(job: Job): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const file = await this.store.write(job.encoded);
        if (!job.done) job.written(file);
        break;
      } catch (error) {
        if (!job.done && isNameTaken(error) && attempt < RENAMES) {
          this.rename(job);
          continue;
        }
        if (!job.done) this.fail(error);
        break;
      }
    }
    job.done = true;
  }

  /** The same cassette under a fresh id. */
  private rename(job: Job): void {
    job.cassette.session.id = newSessionId();
    job.encoded = this.store.encode(job.cassette);
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
    const jobs = [...this.inFlight, ...this.queue];
    this.queue.length = 0;
    this.queuedBytes = 0;
    for (const job of jobs) {
      if (job.done) continue;
      job.done = true;
      // A write under way may have got there first: then the name is taken by this very cassette.
      const underWay = this.inFlight.has(job);
      for (let attempt = 0; ; attempt++) {
        try {
          job.written(this.store.writeSync(job.encoded));
          break;
        } catch (error) {
          if (isNameTaken(error) && underWay) break;
          if (isNameTaken(error) && attempt < RENAMES) {
            this.rename(job);
            continue;
          }
          this.fail(error);
          break;
        }
      }
    }
    if (this.dropped) warn(`${this.dropped} cassette(s) were dropped because the disk could not keep up`);
    if (this.failed) warn(`${this.failed} cassette(s) could not be written`);
    this.dropped = 0;
    this.failed = 0;
  }
}

function isNameTaken(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'EEXIST';
}
