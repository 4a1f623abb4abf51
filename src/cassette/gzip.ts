/**
 * Gzip in members of at most a MiB each, one after another: still one valid gzip file (readers
 * unzip every member in turn). Compressing is native and cannot be interrupted, so a writer's
 * thread told to stop as the process ends stops between two members, not after a large
 * cassette's seconds of compression, which would hold the exit up.
 */
import zlib from 'node:zlib';

const MEMBER_BYTES = 1 << 20;

export function gzipInMembers(text: string): Buffer {
  const bytes = Buffer.from(text);
  if (bytes.length <= MEMBER_BYTES) return zlib.gzipSync(bytes);
  const members: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += MEMBER_BYTES) members.push(zlib.gzipSync(bytes.subarray(at, at + MEMBER_BYTES)));
  return Buffer.concat(members);
}
