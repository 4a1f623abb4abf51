/**
 * Cassettes on disk: naming, atomic writes (temporary file + rename, so a reader never sees half
 * a cassette), and loading of plain and gzip files. `CassetteStore` is the seam where other
 * stores (S3) will sit beside the file store.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { makeDirsSync } from '../dirs.js';
import { decodeValue, encodeValue } from './codec.js';
import { gzipInMembers } from './gzip.js';
import { SCHEMA_VERSION, type AnyCassette, type DependencyEvent, type JsonValue } from './schema.js';
import type { Redactor } from './redact.js';
import { cassetteProblem, completeCassette } from './validate.js';
import { cassetteRelativePath, isCassetteFile, isCassetteFolder } from './names.js';
import { isSegmentFile, readRange, readSegmentEntries, segmentEntryAt, segmentRef, splitSegmentRef } from './segment.js';

/** A cassette ready to be written: where it goes in the store, and its bytes. */
export interface EncodedCassette {
  name: string;
  bytes: Buffer;
}

export interface CassetteStore {
  encode(cassette: SerialisedCassette): EncodedCassette;
  /**
   * Writes a cassette and returns where it went. Never replaces one already there (a name
   * already taken, two random ids alike, fails with code EEXIST) unless `replace` says so: a
   * process cassette is written again, whole, as its process runs.
   */
  writeSync(encoded: EncodedCassette, replace?: boolean): string;
}

/** A file that is not a cassette this timetracer can use; its message starts with the file's name. */
export class CorruptCassetteError extends Error {
  override name = 'CorruptCassetteError';
  readonly code = 'TIMETRACER_BAD_CASSETTE';
}

/**
 * A cassette serialised (on the app's thread), ready to be written (on the writer's): its id,
 * when it was recorded, its file's name in the store, without the `.gz` a gzip store adds, and
 * its text.
 */
export interface SerialisedCassette {
  id: string;
  recordedAt: string;
  name: string;
  text: string;
}

/**
 * The cassette as JSON text: indented for a file of its own, which people open and read;
 * `compact` for a segment, which tools read (`timetracer show` indents it).
 */
export function serialiseCassette(
  cassette: AnyCassette,
  { compact = false, redactor }: { compact?: boolean; redactor?: Redactor } = {},
): SerialisedCassette {
  let json: JsonValue;
  try {
    json = encodeValue(cassette);
  } catch {
    // One call holding a value that cannot be written must not cost the whole cassette.
    json = encodeValue({ ...cassette, events: cassette.events.map(encodableEvent) });
  }
  const stringify = (value: JsonValue): string => (compact ? JSON.stringify(value) : `${JSON.stringify(value, null, 2)}\n`);
  let text = stringify(json);
  // Last: what is a secret by its form, wherever it is (see Redactor.valueSecrets).
  const redacted = redactor?.valueSecrets(json, text) ?? json;
  if (redacted !== json) text = stringify(redacted);
  return { id: cassette.session.id, recordedAt: cassette.session.recorded_at, name: cassetteRelativePath(cassette, false), text };
}

/** The same cassette under another id: its name was taken. The session's id is the text's first "id". */
export function withSessionId(cassette: SerialisedCassette, id: string): SerialisedCassette {
  return {
    ...cassette,
    id,
    name: cassette.name.replace(`__${cassette.id}.json`, `__${id}.json`),
    text: cassette.text.replace(`"id": "${cassette.id}"`, `"id": "${id}"`),
  };
}

function encodableEvent(event: DependencyEvent): DependencyEvent {
  try {
    encodeValue(event);
    return event;
  } catch (error) {
    const { result: _result, request: _request, ...rest } = event;
    return {
      ...rest,
      error: { name: 'TimetracerRecordError', message: `this call's data could not be written: ${(error as Error).message}` },
    };
  }
}

export function parseCassette(text: string, source: string): AnyCassette {
  let json: JsonValue;
  try {
    json = JSON.parse(text) as JsonValue;
  } catch (error) {
    throw new CorruptCassetteError(`${source} is not valid JSON (${(error as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new CorruptCassetteError(`${source} is not a cassette (expected a JSON object)`);
  }
  const version = json.schema_version;
  if (version !== SCHEMA_VERSION) {
    throw new CorruptCassetteError(`${source} has schema_version ${shortly(version)}; this timetracer reads ${SCHEMA_VERSION}`);
  }
  const problem = cassetteProblem(json);
  if (problem) throw new CorruptCassetteError(`${source} is not a usable cassette: ${problem}`);
  completeCassette(json);
  try {
    return decodeValue(json) as AnyCassette;
  } catch (error) {
    throw new CorruptCassetteError(`${source}: ${(error as Error).message}`);
  }
}

/** A value of unknown shape in a few words: whatever a file holds, the message stays one short line. */
function shortly(value: JsonValue | undefined): string {
  if (value !== null && typeof value === 'object') return Array.isArray(value) ? 'a list' : 'an object';
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

export function readCassetteFileSync(file: string): AnyCassette {
  return parseCassette(readCassetteTextSync(file), file);
}

/**
 * The largest cassette text read, unzipped: far above what recording writes (each body is cut at
 * TIMETRACER_MAX_BODY_KB), and a bound on what a hostile .json.gz can make a replay hold.
 */
export const MAX_CASSETTE_BYTES = 64 * 1024 * 1024;

/**
 * A cassette's JSON text, not yet parsed: a file's (unzipped when it is a .json.gz), or one in a
 * segment named `<segment>#<offset>` (see segment.ts).
 */
export function readCassetteTextSync(ref: string): string {
  const inSegment = splitSegmentRef(ref);
  const file = inSegment?.segment ?? ref;
  let bytes: Buffer;
  try {
    if (inSegment) {
      const entry = segmentEntryAt(inSegment.segment, inSegment.offset);
      if (!entry) throw new CorruptCassetteError(`${ref}: the segment holds no cassette at offset ${inSegment.offset}`);
      bytes = readRange(inSegment.segment, entry.offset, entry.length);
    } else {
      if (fs.statSync(file).size > MAX_CASSETTE_BYTES)
        throw new CorruptCassetteError(`${file} is larger than ${MAX_CASSETTE_BYTES / 1024 / 1024} MiB`);
      bytes = fs.readFileSync(file);
    }
  } catch (error) {
    if (error instanceof CorruptCassetteError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new CorruptCassetteError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot be read (${code ?? String(error)})`);
  }
  if (file.endsWith('.gz')) {
    try {
      bytes = zlib.gunzipSync(bytes, { maxOutputLength: MAX_CASSETTE_BYTES });
    } catch (error) {
      const tooLarge = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      throw new CorruptCassetteError(
        tooLarge ? `${ref} unzips to more than ${MAX_CASSETTE_BYTES / 1024 / 1024} MiB` : `${ref} is not valid gzip`,
      );
    }
  }
  return bytes.toString('utf8');
}

/**
 * Every cassette in `dir` (and below it, unless `recursive` is false), in path order: its file,
 * or `<segment>#<offset>` for each one in a segment, in the order written.
 */
export function listCassetteFilesSync(dir: string, { recursive = true } = {}): string[] {
  const out: string[] = [];
  const walk = (at: string): void => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) {
        if (recursive && isCassetteFolder(entry.name)) walk(full);
      } else if (entry.isFile() && isCassetteFile(entry.name)) out.push(full);
      else if (entry.isFile() && isSegmentFile(entry.name)) for (const ref of segmentRefs(full)) out.push(ref);
    }
  };
  walk(dir);
  return out;
}

/** The references of a segment's cassettes; none when it cannot be read. */
export function segmentRefs(segment: string): string[] {
  try {
    return readSegmentEntries(segment).map((entry) => segmentRef(segment, entry.offset));
  } catch {
    return [];
  }
}

/**
 * Cassettes as files under a root folder. Writes are synchronous: they run on the writer's own
 * thread, where a blocking write costs a fraction of what the thread pool's round trips do.
 */
export class FileStore implements CassetteStore {
  private readonly madeDirs = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly gzip: boolean,
  ) {}

  encode({ name, text }: SerialisedCassette): EncodedCassette {
    return this.gzip ? { name: `${name}.gz`, bytes: gzipInMembers(text) } : { name, bytes: Buffer.from(text) };
  }

  writeSync(encoded: EncodedCassette, replace = false): string {
    const file = path.resolve(this.root, encoded.name);
    const dir = path.dirname(file);
    const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`);
    if (!this.madeDirs.has(dir)) {
      makeDirsSync(dir);
      this.madeDirs.add(dir);
    }
    try {
      fs.writeFileSync(temp, encoded.bytes);
    } catch (error) {
      // A full disk leaves the temporary file made and empty (or part written): it goes too.
      removeQuietly(temp);
      // The folder went away while we were running (someone cleaned up): make it again, once.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !this.madeDirs.delete(dir)) throw error;
      return this.writeSync(encoded, replace);
    }
    try {
      if (replace) fs.renameSync(temp, file);
      else publishSync(temp, file);
    } finally {
      // Linked: the temporary name goes; renamed: it is gone already.
      removeQuietly(temp);
    }
    return file;
  }
}

function removeQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // Nothing left to remove.
  }
}

/**
 * Makes the written temporary file appear under its name, at once and whole, and never over a
 * cassette already there: a hard link fails when the name is taken, where a rename would not.
 * Where the file system has no hard links, rename it is.
 */
function publishSync(temp: string, file: string): void {
  try {
    fs.linkSync(temp, file);
  } catch (error) {
    if (!NO_LINKS.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
    fs.renameSync(temp, file);
  }
}

/** What link() says on file systems without hard links. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);
