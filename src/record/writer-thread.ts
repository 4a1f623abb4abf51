/**
 * The cassette writer's own thread: it turns each cassette (handed over as plain JSON) into its
 * file, with blocking writes that cost the app's thread nothing and cannot stall it when the disk
 * is slow. Each reply says where the cassette went or why it could not be written; a shared
 * counter says how many are done, so the app's thread can wait for the last ones on exit.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { newSessionId } from '../context.js';
import { FileStore, withSessionId, type SerialisedCassette } from '../cassette/store.js';

export interface WriterThreadData {
  root: string;
  gzip: boolean;
  /** Replies go here, so the app's thread can also read them synchronously. */
  replies: MessagePort;
  /** [0]: cassettes handled so far. */
  done: Int32Array;
}

export interface WriteRequest {
  seq: number;
  cassette: SerialisedCassette;
  /** Write over the file already there (a process cassette's next write). */
  replace?: boolean;
}

/**
 * Cassettes go over in batches, as text: a message between threads costs more than writing a
 * file, and copying a string far less than cloning the object it was made from.
 */
export type WriteBatch = WriteRequest[];

export type WriteReply = { seq: number; file: string } | { seq: number; error: string; code?: string };

/** A cassette's name is taken (its random id drawn twice): a fresh id, this many times at most. */
const RENAMES = 3;

/** Writes one cassette, under a fresh id if its name is taken (unless it is to replace what is there). */
export function writeCassette(store: FileStore, cassette: SerialisedCassette, replace = false): string {
  for (let attempt = 0; ; attempt++) {
    try {
      return store.writeSync(store.encode(cassette), replace);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= RENAMES) throw error;
      cassette = withSessionId(cassette, newSessionId());
    }
  }
}

if (parentPort && (workerData as Partial<WriterThreadData> | undefined)?.replies) {
  const { root, gzip, replies, done } = workerData as WriterThreadData;
  const store = new FileStore(root, gzip);
  parentPort.on('message', (batch: WriteBatch) => {
    const answers: WriteReply[] = [];
    for (const { seq, cassette, replace } of batch) {
      try {
        answers.push({ seq, file: writeCassette(store, cassette, replace) });
      } catch (error) {
        const { code, message } = error as NodeJS.ErrnoException;
        answers.push({ seq, error: message, ...(code && { code }) });
      }
    }
    replies.postMessage(answers);
    Atomics.add(done, 0, batch.length);
    Atomics.notify(done, 0);
  });
}
