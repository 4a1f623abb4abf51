/**
 * The dashboard's HTTP server (node:http): the page's few static files, from a fixed list read at
 * start, and the JSON API. Every answer carries a Content-Security-Policy that allows the page's
 * own files only, so a recorded string that slipped into markup still could not run. Failures
 * answer as JSON without a stack; nothing a client sends can end the process.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { CassetteCatalog } from '../../catalog/catalog.js';
import { CliError } from '../command.js';
import { ApiError } from './api-error.js';
import { cassetteDetail, listCassettes, listRoutes } from './api.js';
import { RunCatalog } from './runs.js';

/** The page's files in the package's `dashboard/` folder: nothing else is ever served from disk. */
const STATIC_TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'list.js': 'text/javascript; charset=utf-8',
  'detail.js': 'text/javascript; charset=utf-8',
  'dom.js': 'text/javascript; charset=utf-8',
  'runs.js': 'text/javascript; charset=utf-8',
  'routes.js': 'text/javascript; charset=utf-8',
  'chart.js': 'text/javascript; charset=utf-8',
  'links.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};
const STATIC_FOLDER = new URL('../../../../dashboard/', import.meta.url);

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

interface StaticFile {
  type: string;
  bytes: Buffer;
}

export interface DashboardOptions {
  catalog: CassetteCatalog;
  /** Where `serve` was started: replay commands name cassettes relative to it. */
  cwd: string;
}

export class DashboardServer {
  private readonly server: http.Server;
  private readonly files: Map<string, StaticFile>;
  private readonly runs: RunCatalog;
  /** The host names a request may carry in its Host header (undefined: any, see `listen`). */
  private allowedHosts: Set<string> | undefined;

  constructor(private readonly options: DashboardOptions) {
    this.files = loadStaticFiles();
    this.runs = new RunCatalog(options.catalog.dir);
    this.server = http.createServer((req, res) => this.answer(req, res));
  }

  /** Listens and resolves with the URL to open; a port in use or a bad host is a CliError. */
  async listen(port: number, host: string): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      const refused = (error: NodeJS.ErrnoException): void => {
        const reason =
          error.code === 'EADDRINUSE'
            ? 'the port is in use'
            : error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND'
              ? 'no such address on this machine'
              : (error.code ?? error.message);
        reject(new CliError(`cannot listen on ${host}:${port}: ${reason}`));
      };
      this.server.once('error', refused);
      this.server.listen(port, host, () => {
        this.server.off('error', refused);
        this.server.on('error', (error) => process.stderr.write(`timetracer serve: ${error.message}\n`));
        resolve();
      });
    });
    const address = this.server.address() as net.AddressInfo;
    this.allowedHosts = hostsToAllow(address.address);
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${shown}:${address.port}/`;
  }

  async close(): Promise<void> {
    const closed = once(this.server, 'close');
    this.server.close();
    this.server.closeAllConnections();
    await closed;
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    try {
      this.route(req, res);
    } catch (error) {
      const known = error instanceof ApiError;
      if (!known)
        process.stderr.write(
          `timetracer serve: could not answer ${req.method} ${JSON.stringify(req.url)}: ${(error as Error)?.message ?? String(error)}\n`,
        );
      sendJson(res, known ? error.status : 500, { error: known ? error.message : 'internal error' });
    }
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!this.hostAllowed(req.headers.host))
      throw new ApiError(403, 'this dashboard answers only requests addressed to the host it listens on');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      throw new ApiError(405, 'only GET and HEAD');
    }
    // The raw target, not decoded or normalised: `/static/..%2fx` is a name nothing is called.
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const pathname = queryAt < 0 ? target : target.slice(0, queryAt);
    const file =
      pathname === '/'
        ? this.files.get('index.html')
        : pathname.startsWith('/static/')
          ? this.files.get(pathname.slice('/static/'.length))
          : undefined;
    if (file) {
      sendBytes(res, 200, file.type, file.bytes);
      return;
    }
    if (pathname.startsWith('/api/')) {
      this.answerApi(pathname, new URLSearchParams(queryAt < 0 ? '' : target.slice(queryAt + 1)), res);
      return;
    }
    throw new ApiError(404, 'not found');
  }

  /** Keys in the path are `%2F`-encoded relative files, ids and run folder names, looked up, never opened as paths. */
  private answerApi(pathname: string, params: URLSearchParams, res: http.ServerResponse): void {
    const { catalog, cwd } = this.options;
    if (pathname === '/api/cassettes') {
      this.refreshCatalog();
      sendJson(res, 200, listCassettes(catalog, params));
      return;
    }
    if (pathname === '/api/routes') {
      this.refreshCatalog();
      sendJson(res, 200, listRoutes(catalog, params));
      return;
    }
    if (pathname === '/api/runs') {
      sendJson(res, 200, this.runs.list());
      return;
    }
    const key = /^\/api\/cassettes\/([^/]+)$/.exec(pathname)?.[1];
    if (key !== undefined) {
      this.refreshCatalog();
      sendJsonText(res, cassetteDetail(catalog, decodeKey(key, 'no such cassette'), cwd));
      return;
    }
    const run = /^\/api\/runs\/([^/]+)(?:\/replayed\/(.+))?$/.exec(pathname);
    if (run) {
      const id = decodeKey(run[1]!, 'no such run');
      if (run[2] === undefined) sendJson(res, 200, this.runs.detail(id));
      // The replayed file as the report names it, its `/` written as is or as %2F.
      else sendJsonText(res, this.runs.replayed(id, decodeKey(run[2], 'no such replayed cassette in this run')));
      return;
    }
    throw new ApiError(404, 'not found');
  }

  /**
   * Reads new cassettes in, so the page shows them without a restart. Done at every API request:
   * the catalog lists again only the folders whose modification time changed, so where nothing
   * happened this costs a stat per folder.
   */
  private refreshCatalog(): void {
    try {
      this.options.catalog.refresh();
    } catch (error) {
      // The directory became unreadable: keep answering with what was read before.
      process.stderr.write(`timetracer serve: could not read ${this.options.catalog.dir} again: ${(error as Error).message}\n`);
    }
  }

  /**
   * A page on another site can point a name of its own at 127.0.0.1 (DNS rebinding) and read
   * the API as same-origin; such requests carry that name in Host, so only the names that
   * mean this machine are answered.
   */
  private hostAllowed(header: string | undefined): boolean {
    if (!this.allowedHosts) return true;
    if (!header) return false;
    const name = header.toLowerCase().replace(/:\d+$/, '');
    return this.allowedHosts.has(name) || name.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(name);
  }
}

/** Listening on every interface means being reached by any name: only then is any Host accepted. */
function hostsToAllow(address: string): Set<string> | undefined {
  if (address === '0.0.0.0' || address === '::') return undefined;
  return new Set(['localhost', '[::1]', net.isIPv6(address) ? `[${address}]` : address]);
}

function loadStaticFiles(): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const [name, type] of Object.entries(STATIC_TYPES)) {
    const location = new URL(name, STATIC_FOLDER);
    try {
      files.set(name, { type, bytes: fs.readFileSync(location) });
    } catch {
      throw new CliError(`the dashboard's page is missing from this installation (${fileURLToPath(location)})`);
    }
  }
  return files;
}

/** A key from the path, decoded; a malformed escape names nothing, and answers `notFound`. */
function decodeKey(segment: string, notFound: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiError(404, notFound);
  }
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  sendJsonText(res, JSON.stringify(value), status);
}

/** JSON already written as text (a cassette put in as it is stored). */
function sendJsonText(res: http.ServerResponse, text: string, status = 200): void {
  sendBytes(res, status, 'application/json; charset=utf-8', Buffer.from(text));
}

function sendBytes(res: http.ServerResponse, status: number, type: string, bytes: Buffer): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': bytes.length, 'cache-control': 'no-store' });
  res.end(bytes);
}
