/**
 * Segment files: many cassettes in one file, for recording at a rate where a file per request
 * costs the kernel more than the rest of recording does. `<day>/<service>__<start>.segment.jsonl`
 * holds one cassette per line, as compact JSON; a `.segment.jsonl.gz` holds one gzip member per
 * cassette, so `zcat` reads it as JSON Lines and each cassette can still be read alone. Beside
 * each segment its index, `<segment>.idx`, has a line per cassette: its id, what it was recorded
 * for, when, and where its bytes are. A cassette in a segment is named `<segment>#<offset>`.
 *
 * Segments are only ever appended to, the cassettes before the index: a reader trusts an index
 * line only once the bytes it points at are there, and finds whole cassettes the index does not
 * name yet (the writer stopped between the two writes) by reading the end of a plain segment.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pathSlug, requestFileStem } from './names.js';
import { makeDirsSync } from '../dirs.js';
import { gzipInMembers } from './gzip.js';

export const SEGMENT_SUFFIX = '.segment.jsonl';
const SEGMENT_FILE = /\.segment\.jsonl(\.gz)?$/;
const INDEX_SUFFIX = '.idx';

/** A segment is closed and a new one begun past this size. */
const SEGMENT_MAX_BYTES = 64 * 1024 * 1024;

export function isSegmentFile(name: string): boolean {
  return SEGMENT_FILE.test(name) && !path.basename(name).startsWith('.');
}

/** One cassette in a segment, as its index line says. */
export interface SegmentEntry {
  id: string;
  /** What it was recorded for (see requestFileStem): `GET__user_octocat`. */
  stem: string;
  recorded_at: string;
  /** Where its bytes are in the segment (its line, or its gzip member). */
  offset: number;
  length: number;
}

/** A cassette ready to go into a segment: its id, stem, recording time and compact JSON text. */
export interface SegmentInput {
  id: string;
  stem: string;
  recordedAt: string;
  text: string;
}

/** `<segment>#<offset>`: a cassette in a segment, or undefined when `ref` names a file of its own. */
export function splitSegmentRef(ref: string): { segment: string; offset: number } | undefined {
  const match = /^(.*\.segment\.jsonl(?:\.gz)?)#(\d+)$/.exec(ref);
  return match ? { segment: match[1]!, offset: Number(match[2]) } : undefined;
}

export function segmentRef(segment: string, offset: number): string {
  return `${segment}#${offset}`;
}

interface OpenSegment {
  file: string;
  fd: number;
  indexFd: number;
  size: number;
}

/**
 * Appends cassettes to this process's segments, one open per day, with one write for the
 * cassettes of a batch and one for their index lines. Runs on the writer's thread.
 */
export class SegmentWriter {
  private readonly open = new Map<string, OpenSegment>();

  constructor(
    private readonly root: string,
    private readonly gzip: boolean,
    private readonly service: string,
  ) {}

  /** Appends the cassettes; returns each one's reference, in order. */
  append(cassettes: readonly SegmentInput[]): string[] {
    const byDay = new Map<string, SegmentInput[]>();
    for (const cassette of cassettes) {
      const day = cassette.recordedAt.slice(0, 10);
      const list = byDay.get(day);
      if (list) list.push(cassette);
      else byDay.set(day, [cassette]);
    }
    const refs = new Map<SegmentInput, string>();
    for (const [day, list] of byDay) {
      const segment = this.segmentFor(day);
      try {
        this.appendTo(segment, list, refs);
      } catch (error) {
        // Where a failed write stopped is unknown: the next batch starts a new segment rather than append after it.
        this.closeOne(day, segment);
        throw error;
      }
    }
    return cassettes.map((cassette) => refs.get(cassette)!);
  }

  private appendTo(segment: OpenSegment, list: readonly SegmentInput[], refs: Map<SegmentInput, string>): void {
    const chunks: Buffer[] = [];
    const lines: string[] = [];
    let offset = segment.size;
    for (const cassette of list) {
      const bytes = this.gzip ? gzipInMembers(`${cassette.text}\n`) : Buffer.from(`${cassette.text}\n`);
      const entry: SegmentEntry = { id: cassette.id, stem: cassette.stem, recorded_at: cassette.recordedAt, offset, length: bytes.length };
      chunks.push(bytes);
      lines.push(`${JSON.stringify(entry)}\n`);
      refs.set(cassette, segmentRef(segment.file, offset));
      offset += bytes.length;
    }
    writeAll(segment.fd, Buffer.concat(chunks));
    segment.size = offset;
    writeAll(segment.indexFd, Buffer.from(lines.join('')));
  }

  private segmentFor(day: string): OpenSegment {
    const current = this.open.get(day);
    if (current && current.size < SEGMENT_MAX_BYTES) return current;
    if (current) this.closeOne(day, current);
    const dir = path.join(this.root, day);
    makeDirsSync(dir);
    const stamp = new Date().toISOString().slice(11, 19).replace(/:/g, '');
    const name = `${pathSlug(this.service)}__${stamp}-${process.pid}-${randomBytes(3).toString('hex')}${SEGMENT_SUFFIX}${this.gzip ? '.gz' : ''}`;
    const file = path.join(dir, name);
    // 'ax': a new file, never one already there.
    const fd = fs.openSync(file, 'ax');
    const segment = { file, fd, indexFd: fs.openSync(`${file}${INDEX_SUFFIX}`, 'ax'), size: 0 };
    this.open.set(day, segment);
    return segment;
  }

  private closeOne(day: string, segment: OpenSegment): void {
    this.open.delete(day);
    for (const fd of [segment.fd, segment.indexFd]) {
      try {
        fs.closeSync(fd);
      } catch {
        // Already closed.
      }
    }
  }

  close(): void {
    for (const [day, segment] of this.open) this.closeOne(day, segment);
  }

  /** The segments still being appended to, and their indexes. */
  openFiles(): string[] {
    return [...this.open.values()].flatMap((segment) => [segment.file, `${segment.file}${INDEX_SUFFIX}`]);
  }
}

function writeAll(fd: number, bytes: Buffer): void {
  for (let written = 0; written < bytes.length; ) written += fs.writeSync(fd, bytes, written, bytes.length - written);
}

/** The index file beside a segment. */
export function indexFileOf(segment: string): string {
  return `${segment}${INDEX_SUFFIX}`;
}

/**
 * The cassettes of a segment, in the order written: its index's lines whose bytes are there, then
 * (for a plain segment) the whole lines after the last of them, which the index does not name yet.
 */
export function readSegmentEntries(segment: string): SegmentEntry[] {
  const size = fs.statSync(segment).size;
  const entries: SegmentEntry[] = [];
  let end = 0;
  let indexText = '';
  try {
    indexText = fs.readFileSync(indexFileOf(segment), 'utf8');
  } catch {
    // No index (copied without it): a plain segment is read through below.
  }
  // Bytes no index line names: whole lines of a plain segment are read for what they hold.
  const gap = (start: number, stop: number): void => {
    if (start < stop && !segment.endsWith('.gz')) for (const entry of unindexedEntries(segment, start, stop)) entries.push(entry);
  };
  for (const line of indexText.split('\n')) {
    const entry = parseEntry(line);
    if (!entry || entry.offset < end || entry.offset + entry.length > size) continue;
    gap(end, entry.offset);
    entries.push(entry);
    end = entry.offset + entry.length;
  }
  gap(end, size);
  return entries;
}

function parseEntry(line: string): SegmentEntry | undefined {
  if (!line) return undefined;
  try {
    const entry = JSON.parse(line) as Partial<SegmentEntry>;
    const wellFormed =
      typeof entry.id === 'string' &&
      typeof entry.stem === 'string' &&
      typeof entry.recorded_at === 'string' &&
      Number.isSafeInteger(entry.offset) &&
      Number.isSafeInteger(entry.length) &&
      entry.offset! >= 0 &&
      entry.length! > 0;
    return wellFormed ? (entry as SegmentEntry) : undefined;
  } catch {
    return undefined;
  }
}

/** Segments' entries as last read, by segment, with the size they were read at. */
const entriesRead = new Map<string, { size: number; byOffset: Map<number, SegmentEntry> }>();

/** The cassette of a segment at `offset`, if there is one; a segment is read again only once it has grown. */
export function segmentEntryAt(segment: string, offset: number): SegmentEntry | undefined {
  const size = fs.statSync(segment).size;
  let known = entriesRead.get(segment);
  if (!known || known.size !== size) {
    known = { size, byOffset: new Map(readSegmentEntries(segment).map((entry) => [entry.offset, entry])) };
    entriesRead.set(segment, known);
  }
  return known.byOffset.get(offset);
}

/** Whole lines of a plain segment from `start`: what each holds is read from its text. */
function unindexedEntries(segment: string, start: number, size: number): SegmentEntry[] {
  const bytes = readRange(segment, start, size - start);
  const entries: SegmentEntry[] = [];
  let offset = 0;
  for (let newline = bytes.indexOf(10); newline !== -1; newline = bytes.indexOf(10, offset)) {
    const text = bytes.subarray(offset, newline).toString('utf8');
    const described = describeLine(text);
    if (described) entries.push({ ...described, offset: start + offset, length: newline + 1 - offset });
    offset = newline + 1;
  }
  return entries;
}

/** The id, stem and time of a cassette's JSON text; undefined when it is not one. */
function describeLine(text: string): Omit<SegmentEntry, 'offset' | 'length'> | undefined {
  try {
    const json = JSON.parse(text) as {
      session?: { id?: unknown; recorded_at?: unknown; service?: unknown };
      request?: { method?: unknown; path?: unknown };
    };
    const { id, recorded_at: recordedAt } = json.session ?? {};
    if (typeof id !== 'string' || typeof recordedAt !== 'string') return undefined;
    const { method, path: requestPath } = json.request ?? {};
    const stem = typeof method === 'string' && typeof requestPath === 'string' ? requestFileStem(method, requestPath) : 'PROCESS';
    return { id, stem, recorded_at: recordedAt };
  } catch {
    return undefined;
  }
}

export function readRange(file: string, offset: number, length: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    return readAt(fd, offset, length);
  } finally {
    fs.closeSync(fd);
  }
}

/** Up to `length` bytes of an open file from `offset` (fewer where it ends). */
export function readAt(fd: number, offset: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const n = fs.readSync(fd, bytes, read, length - read, offset + read);
    if (n === 0) break;
    read += n;
  }
  return bytes.subarray(0, read);
}
