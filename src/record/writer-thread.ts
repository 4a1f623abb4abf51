/**
 * The cassette writer's own thread: it turns each cassette (handed over as JSON text) into its
 * file or its place in a segment, with blocking writes that cost the app's thread nothing and
 * cannot stall it when the disk is slow. Each reply says where the cassette went or why it could
 * not be written; a shared counter says how many are done, so the app's thread can wait for the
 * last ones on exit.
 */
import path from 'node:path';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { newSessionId } from '../context.js';
import { fileStem } from '../cassette/names.js';
import { describeError } from '../log.js';
import { SegmentWriter } from '../cassette/segment.js';
import { FileStore, withSessionId, type SerialisedCassette } from '../cassette/store.js';
import type { S3Location } from '../remote/s3.js';
import { Uploader } from './uploader.js';

export interface SinkOptions {
  root: string;
  gzip: boolean;
  /** `segments`: request cassettes are appended to this process's segment files (see segment.ts). */
  layout: 'files' | 'segments';
  /** Names the segments. */
  service: string;
}

export interface WriterThreadData extends SinkOptions {
  /** Replies go here, so the app's thread can also read them synchronously. */
  replies: MessagePort;
  /** [0]: cassettes handled so far; [1]: with `remote`, files still to upload once told to finish. */
  done: Int32Array;
  /** Record into S3: `root` is the spool, uploaded from here (see uploader.ts). */
  remote?: S3Location;
}

/** The message that tells the writer's thread the process is ending: upload everything now. */
export const FINISH = 'finish';

export interface WriteRequest {
  seq: number;
  cassette: SerialisedCassette;
  /** Write over the file already there (a process cassette's next write): always a file of its own. */
  replace?: boolean;
}

/**
 * Cassettes go over in batches, as text: a message between threads costs more than writing a
 * file, and copying a string far less than cloning the object it was made from.
 */
export type WriteBatch = WriteRequest[];

/** Where the cassette went: its file, or `<segment>#<offset>`. */
export type WriteReply = { seq: number; file: string } | { seq: number; error: string };

/** A cassette's name is taken (its random id drawn twice): a fresh id, this many times at most. */
const RENAMES = 3;

/** Writes batches of cassettes where the layout puts them: one write per batch into a segment, or a file each. */
export class CassetteSink {
  private readonly files: FileStore;
  private readonly segments: SegmentWriter | undefined;

  private readonly root: string;

  constructor(options: SinkOptions) {
    this.root = options.root;
    this.files = new FileStore(options.root, options.gzip);
    this.segments = options.layout === 'segments' ? new SegmentWriter(options.root, options.gzip, options.service) : undefined;
  }

  /** Files still being appended to, relative to the root with `/` separators. */
  openFiles(): Set<string> {
    return new Set((this.segments?.openFiles() ?? []).map((file) => path.relative(this.root, file).split(path.sep).join('/')));
  }

  write(batch: WriteBatch): WriteReply[] {
    const toSegment = this.segments ? batch.filter((request) => !request.replace) : [];
    const answers: WriteReply[] = [];
    for (const { seq, cassette, replace } of batch) {
      if (toSegment.length && !replace) continue;
      try {
        answers.push({ seq, file: this.writeFile(cassette, replace) });
      } catch (error) {
        answers.push(failure(seq, error));
      }
    }
    if (toSegment.length) {
      try {
        const refs = this.segments!.append(
          toSegment.map(({ cassette }) => ({
            id: cassette.id,
            stem: fileStem(path.basename(cassette.name)) ?? 'REQUEST',
            recordedAt: cassette.recordedAt,
            text: cassette.text,
          })),
        );
        answers.push(...toSegment.map(({ seq }, i) => ({ seq, file: refs[i]! })));
      } catch (error) {
        for (const { seq } of toSegment) answers.push(failure(seq, error));
      }
    }
    return answers;
  }

  /** Writes one cassette, under a fresh id if its name is taken (unless it is to replace what is there). */
  private writeFile(cassette: SerialisedCassette, replace = false): string {
    for (let attempt = 0; ; attempt++) {
      try {
        return this.files.writeSync(this.files.encode(cassette), replace);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= RENAMES) throw error;
        cassette = withSessionId(cassette, newSessionId());
      }
    }
  }
}

function failure(seq: number, error: unknown): WriteReply {
  return { seq, error: describeError(error) };
}

if (parentPort && (workerData as Partial<WriterThreadData> | undefined)?.replies) {
  const { replies, done, remote, ...options } = workerData as WriterThreadData;
  const sink = new CassetteSink(options);
  const uploader =
    remote &&
    new Uploader(
      options.root,
      remote,
      () => sink.openFiles(),
      (count) => {
        Atomics.store(done, 1, count);
        Atomics.notify(done, 1);
      },
    );
  // What an earlier process left in the spool goes first.
  uploader?.kick();
  parentPort.on('message', (message: WriteBatch | typeof FINISH) => {
    if (message === FINISH) {
      uploader?.finish();
      return;
    }
    replies.postMessage(sink.write(message));
    Atomics.add(done, 0, message.length);
    Atomics.notify(done, 0);
    uploader?.kick();
  });
}
