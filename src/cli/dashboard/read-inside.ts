/**
 * Reading one file the dashboard found inside the cassette directory (a cassette, a replay run's
 * report or replayed cassette), only if it still is a regular file there: it was listed so, but
 * it may have been swapped for a link, or a folder on its way for one, since.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { readAt, segmentEntryAt, splitSegmentRef } from '../../cassette/segment.js';
import { ApiError } from './api-error.js';

/** Files larger than this (unzipped) are not sent to a browser: `timetracer show` reads cassettes. */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;

/**
 * The text of `ref` (`/`-separated, below `root`; a file, or `<segment>#<offset>`), gunzipped when it ends in `.gz`. `what`
 * names the file in errors: `no such <what>` (404) when it is gone, not a regular file, reached
 * through a link at any step, or named with `..`; 413 when too large; 422 when not valid gzip.
 */
export function readInside(root: string, ref: string, what: string): string {
  // A cassette in a segment (`<segment>#<offset>`): the segment is the file checked and read from.
  const inSegment = splitSegmentRef(ref);
  const relative = inSegment?.segment ?? ref;
  if (!isPlainRelative(relative)) throw new ApiError(404, `no such ${what}`);
  let bytes: Buffer;
  try {
    const file = path.join(root, relative);
    // Its real path must be exactly where it was listed: a linked folder on the way leads elsewhere.
    if (fs.realpathSync(file) !== path.join(fs.realpathSync(root), relative)) throw new ApiError(404, `no such ${what}`);
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw new ApiError(404, `no such ${what}`);
      const entry = inSegment && segmentEntryAt(file, inSegment.offset);
      if (inSegment && !entry) throw new ApiError(404, `no such ${what}`);
      if ((entry ? entry.length : stat.size) > MAX_FILE_BYTES) throw tooLarge(what);
      bytes = entry ? readAt(fd, entry.offset, entry.length) : fs.readFileSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    // Gone since it was listed, or a link put in its place (O_NOFOLLOW refuses it).
    throw new ApiError(404, `no such ${what}`);
  }
  if (!relative.endsWith('.gz')) return bytes.toString('utf8');
  try {
    return zlib.gunzipSync(bytes, { maxOutputLength: MAX_FILE_BYTES }).toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(what);
    throw new ApiError(422, `this ${what} is not valid gzip`);
  }
}

/** `a/b.json`: names only, no `.`, `..`, empty step, backslash, NUL or leading `/`. */
export function isPlainRelative(relative: string): boolean {
  return (
    relative.length > 0 && !/[\\\0]/.test(relative) && relative.split('/').every((step) => step !== '' && step !== '.' && step !== '..')
  );
}

function tooLarge(what: string): ApiError {
  return new ApiError(
    413,
    `this ${what} is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB, more than the dashboard sends to a browser; timetracer show prints cassettes of any size`,
  );
}
