/**
 * The dashboard's JSON API: pages of cassette summaries and single cassettes. A cassette is only
 * ever found through the catalog, which lists the regular files inside the directory; what the
 * client sends is a key to look up, never a path to open.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { statusMatcher, type CassetteCatalog, type CassetteSummary, type CatalogPage } from '../catalog.js';

/** The most summaries one page holds. */
export const MAX_PAGE_SIZE = 500;
const DEFAULT_PAGE_SIZE = 50;
/** Cassettes larger than this (unzipped) are not sent to a browser: `timetracer show` reads them. */
const MAX_CASSETTE_BYTES = 64 * 1024 * 1024;

/** A request the API refuses: its HTTP status and a message for the client. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface CassettePage extends CatalogPage {
  /** The cassette directory, as given to `serve`. */
  dir: string;
  totals: { requests: number; success: number; errors: number };
}

/** `GET /api/cassettes?q=&method=&status=&offset=&limit=`. */
export function listCassettes(catalog: CassetteCatalog, params: URLSearchParams): CassettePage {
  const method = params.get('method')?.trim() || undefined;
  if (method !== undefined && !/^[A-Za-z]{1,20}$/.test(method)) throw new ApiError(400, 'method must be an HTTP method such as GET');
  const status = params.get('status')?.trim() || undefined;
  if (status !== undefined && !statusMatcher(status)) throw new ApiError(400, 'status must be like 2xx, 404 or error');
  const page = catalog.query({
    text: params.get('q') ?? undefined,
    method,
    status,
    offset: wholeNumber(params, 'offset', 0, Number.MAX_SAFE_INTEGER, 0),
    limit: wholeNumber(params, 'limit', 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE),
  });
  return { dir: catalog.dir, ...page, totals: catalog.totals() };
}

function wholeNumber(params: URLSearchParams, name: string, min: number, max: number, fallback: number): number {
  const text = params.get(name);
  if (text === null || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new ApiError(400, `${name} must be a whole number from ${min} to ${max}`);
  return value;
}

/**
 * `GET /api/cassettes/:key`, the key being a cassette's relative file or its id: the cassette's
 * JSON exactly as written (tagged values included), its file, and the command that replays it.
 * Sent as text: `{"file":..,"replay_command":..,"cassette":<the file's JSON>}`.
 */
export function cassetteDetail(catalog: CassetteCatalog, key: string, cwd: string): string {
  const summary = catalog.find(key);
  if (!summary) throw new ApiError(404, 'no such cassette');
  const text = readInside(catalog, summary);
  try {
    JSON.parse(text);
  } catch {
    throw new ApiError(422, 'this cassette is not valid JSON any more');
  }
  const head = JSON.stringify({ file: summary.file, replay_command: replayCommand(displayPath(catalog.pathOf(summary), cwd), summary.entry) });
  return `${head.slice(0, -1)},"cassette":${text}}`;
}

/**
 * The file's text, read only if it is still a regular file inside the directory: the catalog
 * listed it so, but it may have been swapped for a link, or a folder above it for one, since.
 */
function readInside(catalog: CassetteCatalog, summary: CassetteSummary): string {
  const file = catalog.pathOf(summary);
  let bytes: Buffer;
  try {
    const root = fs.realpathSync(catalog.dir);
    if (!fs.realpathSync(file).startsWith(root + path.sep)) throw new ApiError(404, 'no such cassette');
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw new ApiError(404, 'no such cassette');
      if (stat.size > MAX_CASSETTE_BYTES) throw tooLarge();
      bytes = fs.readFileSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    // Gone since it was listed, or a link put in its place (O_NOFOLLOW refuses it).
    throw new ApiError(404, 'no such cassette');
  }
  if (!file.endsWith('.gz')) return bytes.toString('utf8');
  try {
    return zlib.gunzipSync(bytes, { maxOutputLength: MAX_CASSETTE_BYTES }).toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
    throw new ApiError(422, 'this cassette is not valid gzip');
  }
}

function tooLarge(): ApiError {
  return new ApiError(413, `this cassette is larger than ${MAX_CASSETTE_BYTES / 1024 / 1024} MiB; timetracer show prints it`);
}

/** Relative to where the dashboard was started when it lies below it, else absolute. */
function displayPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative.split(path.sep).join('/');
}

/**
 * The shell command that replays a cassette. Both words come from files anyone could have
 * written, so they are quoted for the shell: a pasted command runs nothing else.
 */
export function replayCommand(cassette: string, entry: string | null): string {
  // An entry starting with `-` would be read by node as an option.
  const script = entry ? (entry.startsWith('-') ? `./${entry}` : entry) : 'app.js';
  return `TIMETRACER_MODE=replay TIMETRACER_CASSETTE=${shellWord(cassette)} node --import timetracer/register ${shellWord(script)}`;
}

function shellWord(text: string): string {
  return /^[\w./@%+=:,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
