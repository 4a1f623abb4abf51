/**
 * Recording into S3: cassettes are written to a local spool as into any directory, then uploaded
 * from the writer's thread, off the request path, each leaving the spool once it is in S3. While
 * S3 cannot be reached they wait in the spool, and uploads are tried again with back-off (half a
 * second, doubling, up to 30 s), said once when they start failing and once when they go
 * through again: an outage loses nothing the spool's disk can hold, and a later start uploads
 * what an earlier process left there.
 *
 * A segment still being appended to is uploaded whole at most every SEGMENT_UPLOAD_MS and at the
 * end, and leaves the spool once closed and uploaded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describeError, info, warn } from '../log.js';
import { formatS3Location, S3Store, type S3Location } from '../remote/s3.js';
import { inCopyOrder, localObjects } from '../remote/sync.js';

const FIRST_RETRY_MS = 500;
const LAST_RETRY_MS = 30_000;
const SEGMENT_UPLOAD_MS = 10_000;

export class Uploader {
  private store: Promise<S3Store> | undefined;
  private running = false;
  private again = false;
  /** Upload open segments too, now: the process is ending. */
  private final = false;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private failingSince: number | undefined;
  /** Open segments: the size last uploaded, and when. */
  private readonly sent = new Map<string, { size: number; at: number }>();

  /**
   * `open`: the spool's files still being appended to (relative paths); `waiting(n)`: how many
   * files wait to be uploaded, after each pass.
   */
  constructor(
    private readonly spool: string,
    private readonly location: S3Location,
    private readonly open: () => ReadonlySet<string>,
    private readonly waiting: (count: number) => void,
  ) {}

  /** Something was written to the spool: upload what is due. */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    void this.run();
  }

  /** The process is ending: upload everything, open segments included. */
  finish(): void {
    this.final = true;
    this.kick();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      do {
        this.again = false;
        await this.pass();
      } while (this.again);
      this.recovered();
    } catch (error) {
      this.failed(error);
    } finally {
      this.running = false;
    }
  }

  private async pass(): Promise<void> {
    this.store ??= S3Store.open(this.location);
    const store = await this.store;
    // While S3 is out, one small request says whether it is back, before the spool is listed.
    if (this.failingSince !== undefined) await store.probe();
    // Whether this pass is a last one, fixed for the whole pass: `finish` may come while it runs,
    // and an open segment uploaded before then may have grown since (the last pass uploads it).
    const final = this.final;
    // Only the last passes are counted: what the process's end waits for.
    const waiting = (count: number): void => {
      if (final) this.waiting(count);
    };
    const open = this.open();
    const due = localObjects(this.spool).filter(({ path: file, size }) => {
      if (!open.has(file)) return true;
      const sent = this.sent.get(file);
      if (sent?.size !== size) return final || !sent || Date.now() - sent.at >= SEGMENT_UPLOAD_MS;
      // At the end, an open segment S3 already holds as it is leaves the spool without another upload.
      if (final) this.forget(file);
      return false;
    });
    waiting(due.length);
    let left = due.length;
    for (const { path: file, size } of inCopyOrder(due)) {
      const local = path.join(this.spool, ...file.split('/'));
      await store.put(file, fs.readFileSync(local));
      // At the end an open segment is done with too: nothing more is appended to it.
      if (open.has(file) && !final) this.sent.set(file, { size, at: Date.now() });
      else this.forget(file);
      waiting(--left);
    }
    // Segments still open are looked at again when their next upload is due.
    if (!final && open.size) this.retryTimer ??= setTimeout(() => this.kick(), SEGMENT_UPLOAD_MS);
  }

  /** In S3 as it is: out of the spool. */
  private forget(file: string): void {
    fs.rmSync(path.join(this.spool, ...file.split('/')), { force: true });
    this.sent.delete(file);
  }

  private failed(error: unknown): void {
    if (this.failingSince === undefined) {
      this.failingSince = Date.now();
      warn(
        `could not upload cassettes to ${formatS3Location(this.location)} (${describeError(error)}); they wait in ${this.spool} and uploads are retried (the app is unaffected)`,
      );
    }
    this.retryTimer = setTimeout(() => this.kick(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, LAST_RETRY_MS);
  }

  private recovered(): void {
    this.retryMs = FIRST_RETRY_MS;
    if (this.failingSince === undefined) return;
    const seconds = Math.round((Date.now() - this.failingSince) / 1000);
    this.failingSince = undefined;
    info(`timetracer uploads to ${formatS3Location(this.location)} go through again after ${seconds} s; the spool is caught up`);
  }
}
