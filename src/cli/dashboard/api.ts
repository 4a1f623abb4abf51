/**
 * The dashboard's JSON API over the recordings: pages of cassette summaries, single cassettes,
 * and requests by route. A cassette is only ever found through the catalog, which lists the
 * regular files inside the directory; what the client sends is a key to look up, never a path.
 */
import path from 'node:path';
import { statusMatcher, type CassetteCatalog, type CatalogPage } from '../../catalog/catalog.js';
import { routeReport, type RouteReport } from '../routes.js';
import { ApiError } from './api-error.js';
import { readInside } from './read-inside.js';

/** The most summaries one page holds. */
export const MAX_PAGE_SIZE = 500;
const DEFAULT_PAGE_SIZE = 50;

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
  const trace = params.get('trace')?.trim() || undefined;
  if (trace !== undefined && !/^[0-9a-f]{1,32}$/i.test(trace)) throw new ApiError(400, 'trace must be a trace id (up to 32 hex digits)');
  const page = catalog.query({
    trace,
    text: params.get('q') ?? undefined,
    method,
    status,
    offset: wholeNumber(params, 'offset', 0, Number.MAX_SAFE_INTEGER, 0),
    limit: wholeNumber(params, 'limit', 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE),
  });
  return { dir: catalog.dir, ...page, totals: catalog.totals() };
}

export interface RoutePage extends RouteReport {
  dir: string;
}

/** `GET /api/routes?q=`: the request cassettes the list's search `q` finds (all without it), by route. */
export function listRoutes(catalog: CassetteCatalog, params: URLSearchParams): RoutePage {
  const { items } = catalog.query({ text: params.get('q') ?? undefined, limit: Number.MAX_SAFE_INTEGER });
  return { dir: catalog.dir, ...routeReport(items) };
}

function wholeNumber(params: URLSearchParams, name: string, min: number, max: number, fallback: number): number {
  const text = params.get(name);
  if (text === null || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new ApiError(400, `${name} must be a whole number from ${min} to ${max}`);
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
  const text = readInside(catalog.dir, summary.file, 'cassette');
  return withCassette(
    { file: summary.file, replay_command: replayCommand(displayPath(catalog.pathOf(summary), cwd), summary.entry) },
    text,
  );
}

/**
 * `{...fields, "cassette": <the file's JSON>}`, the cassette's text put in as it is, so its
 * tagged values reach the page exactly as written; text that is not JSON any more is a 422.
 */
export function withCassette(fields: Record<string, string | null>, cassetteText: string): string {
  try {
    JSON.parse(cassetteText);
  } catch {
    throw new ApiError(422, 'this cassette is not valid JSON any more');
  }
  const head = JSON.stringify(fields).slice(1, -1);
  return `{${head}${head ? ',' : ''}"cassette":${cassetteText}}`;
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
