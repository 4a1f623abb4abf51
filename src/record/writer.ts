/**
 * Writes cassettes in the background, after the responses they describe have gone out. The app's
 * thread turns a cassette into its JSON text and hands it to the writer's own thread, which writes
 * the file (see writer-thread.ts): the app's thread does no disk work. What is waiting is
 * bounded: when the disk cannot keep up, new cassettes are dropped and counted rather than the
 * app slowed or its memory grown. On exit, the app's thread waits for the cassettes handed over,
 * so nothing recorded is lost; should the thread fail, cassettes are written on the app's thread.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { serialiseCassette, type SerialisedCassette } from '../cassette/store.js';
import type { Redactor } from '../cassette/redact.js';
import type { AnyCassette } from '../cassette/schema.js';
import { describeError, warn } from '../log.js';
import { formatS3Location, type S3Location } from '../remote/s3.js';
import { localObjects } from '../remote/sync.js';
import { CassetteSink, FINISH, type SinkOptions, type WriteBatch, type WriteReply, type WriterThreadData } from './writer-thread.js';

export interface WriterOptions extends SinkOptions {
  /** Record into S3: `root` is the local spool the writer's thread uploads from (see uploader.ts). */
  remote?: S3Location;
  /** Redacts what is a secret by its form, last, in the whole cassette. */
  redactor?: Redactor;
  /** Cassettes handed over and not yet written. */
  maxPending?: number;
  /** How long the process's end waits for the writer's thread (TIMETRACER_FLUSH_TIMEOUT_MS). */
  exitWaitMs?: number;
}

interface Thread {
  worker: Worker;
  replies: MessagePort;
  done: Int32Array;
}

/** A batch goes when it has this many cassettes, or this long after its first. */
const BATCH_SIZE = 64;
const BATCH_DELAY_MS = 20;

export class CassetteWriter {
  private thread: Thread | undefined;
  private threadFailed = false;
  /** Writes on the app's thread, once the writer's thread has failed. */
  private sinkHere: CassetteSink | undefined;
  private readonly announce = new Map<number, (file: string) => void>();
  private submitted = 0;
  private dropped = 0;
  private failed = 0;
  private lastFailure: string | undefined;
  private readonly maxPending: number;
  private readonly exitWaitMs: number;
  private batch: WriteBatch = [];
  private batchTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WriterOptions) {
    this.maxPending = options.maxPending ?? 2_000;
    this.exitWaitMs = options.exitWaitMs ?? 5_000;
  }

  /** Cassettes handed over and not yet written. */
  get pending(): number {
    return this.announce.size;
  }

  /**
   * Hands the cassette to the writer; `written` is called with its file once it is on disk.
   * `replace`: it is written over the file of the same name (a process cassette's next write).
   */
  submit(cassette: AnyCassette, written: (file: string) => void, { replace = false } = {}): void {
    const serialised = serialiseCassette(cassette, {
      compact: this.options.layout === 'segments' && !replace,
      redactor: this.options.redactor,
    });
    const thread = this.threadFailed ? undefined : (this.thread ??= this.startThread());
    if (!thread) {
      this.writeHere(serialised, written, replace);
      return;
    }
    if (this.announce.size >= this.maxPending) {
      if (this.dropped++ === 0)
        warn('cassettes are being written slower than they are recorded; dropping new ones (the app is unaffected)');
      return;
    }
    const seq = this.submitted++;
    this.announce.set(seq, written);
    this.batch.push({ seq, cassette: serialised, replace });
    if (this.batch.length >= BATCH_SIZE) this.send();
    else if (!this.batchTimer) this.batchTimer = setTimeout(() => this.send(), BATCH_DELAY_MS).unref();
  }

  private send(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    if (this.batch.length && this.thread && !this.threadFailed) this.thread.worker.postMessage(this.batch);
    this.batch = [];
  }

  private startThread(): Thread | undefined {
    try {
      const { port1, port2 } = new MessageChannel();
      const done = new Int32Array(new SharedArrayBuffer(8));
      const { root, gzip, layout, service, remote } = this.options;
      const workerData: WriterThreadData = { root, gzip, layout, service, replies: port2, done, ...(remote && { remote }) };
      const worker = new Worker(new URL('./writer-thread.js', import.meta.url), { workerData, transferList: [port2] });
      port1.on('message', (replies: WriteReply[]) => {
        for (const reply of replies) this.replied(reply);
      });
      worker.on('error', (error) => this.threadBroke(error));
      // Neither keeps the app alive (after the listener, which would ref the port again): on
      // exit, flushSync waits for what was handed over.
      worker.unref();
      port1.unref();
      return { worker, replies: port1, done };
    } catch (error) {
      this.threadBroke(error);
      return undefined;
    }
  }

  private threadBroke(error: unknown): void {
    if (this.threadFailed) return;
    this.threadFailed = true;
    warn(`the cassette writer's thread failed (${describeError(error)}); writing cassettes on the app's thread instead`);
    // What it had not written is lost with it: counted as not written.
    this.failed += this.announce.size;
    this.announce.clear();
    void this.thread?.worker.terminate();
  }

  private replied(reply: WriteReply): void {
    const written = this.announce.get(reply.seq);
    this.announce.delete(reply.seq);
    this.settle(reply, written);
  }

  private settle(reply: WriteReply, written: ((file: string) => void) | undefined): void {
    if ('file' in reply) written?.(reply.file);
    else this.fail(reply.error);
  }

  private writeHere(cassette: SerialisedCassette, written: (file: string) => void, replace: boolean): void {
    try {
      this.sinkHere ??= new CassetteSink(this.options);
      for (const reply of this.sinkHere.write([{ seq: 0, cassette, replace }])) this.settle(reply, written);
    } catch (error) {
      this.fail(describeError(error));
    }
  }

  private fail(cause: string): void {
    this.failed++;
    // One line per distinct cause, not one per request.
    if (cause !== this.lastFailure) {
      this.lastFailure = cause;
      warn(`could not write a cassette (${cause}); the app carries on, cassettes are not being kept`);
    }
  }

  /** Tells the writer's thread to upload everything, and waits for it until `deadline`. */
  private finishUploads(thread: Thread, deadline: number): void {
    Atomics.store(thread.done, 1, -1);
    thread.worker.postMessage(FINISH);
    for (let waiting = Atomics.load(thread.done, 1); waiting !== 0; waiting = Atomics.load(thread.done, 1)) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      Atomics.wait(thread.done, 1, waiting, left);
    }
  }

  /** What is still in the spool at the end is uploaded by the next start, or by `timetracer sync`. */
  private sayWhatWaits(remote: S3Location): void {
    const waiting = localObjects(this.options.root).length;
    if (waiting)
      warn(
        `${waiting} file(s) of cassettes wait in ${this.options.root} to be uploaded to ${formatS3Location(remote)}: the next start uploads them, or timetracer sync ${this.options.root} ${formatS3Location(remote)}`,
      );
  }

  /**
   * The process is ending: waits (blocking) until the writer's thread has written what it was
   * handed, or until `deadline` (by default TIMETRACER_FLUSH_TIMEOUT_MS from now).
   */
  flushSync(deadline = Date.now() + this.exitWaitMs): void {
    this.send();
    const thread = this.thread;
    if (thread && !this.threadFailed) {
      for (let handled = Atomics.load(thread.done, 0); handled < this.submitted; handled = Atomics.load(thread.done, 0)) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        Atomics.wait(thread.done, 0, handled, left);
      }
      for (let message = receiveMessageOnPort(thread.replies); message; message = receiveMessageOnPort(thread.replies)) {
        for (const reply of message.message as WriteReply[]) this.replied(reply);
      }
      if (this.options.remote) this.finishUploads(thread, deadline);
    }
    if (this.options.remote) this.sayWhatWaits(this.options.remote);
    // What the writer's thread had not written by the deadline is given up: the process ends now.
    const unfinished = this.announce.size;
    this.announce.clear();
    if (this.dropped) warn(`${this.dropped} cassette(s) were dropped because the disk could not keep up`);
    if (this.failed) warn(`${this.failed} cassette(s) could not be written`);
    if (unfinished)
      warn(
        `${unfinished} cassette(s) were still being written when the process ended, after waiting ${this.exitWaitMs} ms (TIMETRACER_FLUSH_TIMEOUT_MS)`,
      );
    this.dropped = 0;
    this.failed = 0;
  }
}
