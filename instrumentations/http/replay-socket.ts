/**
 * A socket that never touches the network. Node's own ClientRequest runs on it unchanged (so
 * the app gets a real ClientRequest and a real IncomingMessage from the real HTTP parser): what
 * the request writes is kept, the recorded response is pushed in as bytes. For a miss that may
 * go live, the kept bytes are handed to a real connection and the two are joined.
 */
import net from 'node:net';
import type { RecordedReply, ReplayedResponse } from './call.js';

type WriteCallback = (error?: Error | null) => void;

export class ReplaySocket extends net.Socket {
  private readonly written: Buffer[] = [];
  private live: net.Socket | undefined;

  override _read(): void {
    this.live?.resume();
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: WriteCallback): void {
    this._writev([{ chunk, encoding }], callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer | string; encoding: BufferEncoding }>, callback: WriteCallback): void {
    // A net.Socket is handed strings as they were written (the request head comes as text).
    for (const { chunk, encoding } of chunks) this.written.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk);
    if (this.live) this.flushToLive(callback);
    else callback();
  }

  override _final(callback: WriteCallback): void {
    this.live?.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.live?.destroy();
    // net.Socket emits 'close' itself (it turns off the stream's own): without this, the request
    // would never learn its socket is gone (no 'close', no "socket hang up").
    super._destroy(error, callback);
  }

  /** Feeds a recorded response to the parser, then ends the call the way it ended live. */
  reply({ response, end }: RecordedReply): void {
    this.written.length = 0;
    if (this.destroyed) return;
    if (response) this.push(responseBytes(response));
    if (end.kind === 'fail') this.destroy(end.error);
    else if (end.kind === 'complete') this.push(null);
  }

  /** Joins the request to a real connection: for misses that go live. */
  passthrough(connect: () => net.Socket): void {
    if (this.destroyed) return;
    const live = connect();
    this.live = live;
    live.on('data', (data: Buffer) => {
      if (!this.push(data)) live.pause();
    });
    live.on('end', () => this.push(null));
    live.on('error', (error) => this.destroy(error));
    this.flushToLive(() => undefined);
  }

  private flushToLive(callback: WriteCallback): void {
    const chunks = this.written.splice(0);
    if (chunks.length === 0) callback();
    else this.live!.write(Buffer.concat(chunks), callback);
  }
}

/** An HTTP/1.1 response as bytes. */
function responseBytes(response: ReplayedResponse): Buffer {
  let head = `HTTP/1.1 ${response.status} ${response.statusText || 'Unknown'}\r\n`;
  for (const [name, value] of response.headers) head += `${name}: ${value}\r\n`;
  head += '\r\n';
  const parts: Buffer[] = [Buffer.from(head, 'latin1')];
  if (!response.chunked) parts.push(response.body);
  else {
    if (response.body.length) parts.push(Buffer.from(`${response.body.length.toString(16)}\r\n`), response.body, Buffer.from('\r\n'));
    if (response.complete) parts.push(Buffer.from('0\r\n\r\n'));
  }
  return Buffer.concat(parts);
}
