/**
 * Copies of the bytes that pass through a stream, taken without changing how the app reads or
 * writes it: incoming bodies are seen where the parser pushes them, outgoing bodies where the
 * app writes them. Only the first `keepBytes` are kept; past that, size and hash are counted.
 */
import { createHash, type Hash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { CapturedBody } from '../cassette/body.js';

export class BodyTap {
  private chunks: Buffer[] = [];
  private kept = 0;
  private size = 0;
  private hash: Hash | undefined;

  constructor(private readonly keepBytes: number) {}

  add(chunk: unknown, encoding?: BufferEncoding): void {
    if (this.hash) {
      // Past what is kept, a string is hashed as it is: no copy of a large body just to count it.
      if (typeof chunk === 'string') {
        this.size += Buffer.byteLength(chunk, encoding);
        this.hash.update(chunk, encoding ?? 'utf8');
        return;
      }
      const rest = toBuffer(chunk, encoding);
      if (!rest) return;
      this.size += rest.length;
      this.hash.update(rest);
      return;
    }
    const bytes = toBuffer(typeof chunk === 'string' ? this.keptPartOf(chunk, encoding) : chunk, encoding);
    const size = typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding) : bytes?.length;
    if (!bytes || !size) return;
    this.size += size;
    if (this.kept + size <= this.keepBytes) {
      this.chunks.push(bytes);
      this.kept += size;
      return;
    }
    this.hash = createHash('sha256');
    for (const kept of this.chunks) this.hash.update(kept);
    if (typeof chunk === 'string') this.hash.update(chunk, encoding ?? 'utf8');
    else this.hash.update(bytes);
    const room = this.keepBytes - this.kept;
    if (room > 0) this.chunks.push(bytes.subarray(0, room));
    this.kept = this.keepBytes;
  }

  /**
   * The start of a string long enough to give the bytes that still fit: each character is at
   * least one byte, so as many characters as there is room for bytes.
   */
  private keptPartOf(chunk: string, encoding?: BufferEncoding): string {
    const room = this.keepBytes - this.kept;
    return chunk.length > room && encoding !== 'base64' && encoding !== 'hex' ? chunk.slice(0, Math.max(room, 0)) : chunk;
  }

  result(): CapturedBody {
    const bytes = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    if (!this.hash) return { bytes, size: this.size, complete: true };
    return { bytes, size: this.size, complete: false, sha256: this.hash.copy().digest('hex') };
  }
}

export function toBuffer(chunk: unknown, encoding?: BufferEncoding): Buffer | undefined {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding ?? 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return undefined;
}

/**
 * Taps what the HTTP parser pushes into an incoming message (request or response body).
 * `onComplete` runs when the parser has pushed the last byte, whether or not the app reads it.
 */
export function tapReadable(stream: Readable, tap: BodyTap, onComplete?: () => void): void {
  const push = stream.push;
  stream.push = function tappedPush(this: Readable, chunk: unknown, encoding?: BufferEncoding) {
    if (chunk === null) onComplete?.();
    else tap.add(chunk, encoding);
    return push.call(this, chunk, encoding);
  };
}

/**
 * Sees every event an emitter emits, before its listeners do. Unlike adding listeners, this
 * changes nothing: an unheard 'error' still throws, an unheard 'response' is still dumped.
 */
export function observeEvents(emitter: EventEmitter, observer: (event: string | symbol, args: unknown[]) => void): void {
  const emit = emitter.emit;
  emitter.emit = function observedEmit(this: EventEmitter, event: string | symbol, ...args: unknown[]) {
    try {
      observer(event, args);
    } catch {
      // An observer's fault stays ours: the event still reaches the app.
    }
    return emit.call(this, event, ...args);
  } as EventEmitter['emit'];
}

interface WritableMessage {
  write(...args: unknown[]): boolean;
  end(...args: unknown[]): unknown;
}

/** Anything with Node's `write`/`end` (ServerResponse, ClientRequest), whatever their overloads. */
interface Writes {
  write: (...args: never[]) => unknown;
  end: (...args: never[]) => unknown;
}

/** Taps what the app writes into an outgoing message (response body or client request body). */
export function tapWritable(outgoing: Writes, tap: BodyTap): void {
  const message = outgoing as unknown as WritableMessage;
  const write = message.write;
  const end = message.end;
  message.write = function tappedWrite(this: WritableMessage, ...args: unknown[]) {
    tap.add(args[0], typeof args[1] === 'string' ? (args[1] as BufferEncoding) : undefined);
    return write.apply(this, args);
  };
  message.end = function tappedEnd(this: WritableMessage, ...args: unknown[]) {
    if (typeof args[0] !== 'function') tap.add(args[0], typeof args[1] === 'string' ? (args[1] as BufferEncoding) : undefined);
    return end.apply(this, args);
  };
}
