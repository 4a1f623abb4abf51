/**
 * Bundled apps. Package hooks attach where Node compiles a file under `node_modules/<package>/`
 * (hooks.ts); a bundler (esbuild, webpack) copies those files into the app's own script, where no
 * hook sees them, and the agent would record nothing of them without a word. This says so once,
 * naming the hooked packages the bundle holds and how to load them from node_modules instead.
 *
 * It reads the main script in the background, never on the start path, looking only for what
 * esbuild leaves beside the modules it copies in: the line naming each one's file
 * (`// node_modules/pg/lib/index.js`); in a minified bundle, which keeps none, its source map's
 * `sources`, else the license comments esbuild gathers at its end. A minified bundle that names
 * nothing is known by its first connection opened from its own code rather than through a hooked
 * builtin (http, fetch): that is a bundled client library's.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { codeLocations, type Instrumentation } from '../instrumentation.js';
import { debug, describeError, displayPath, warn } from '../log.js';
import { describeDestination } from '../net-address.js';
import { destinationOf } from '../replay/connection-guard.js';
import { callerFiles, packageOf } from '../stack.js';

const require = createRequire(import.meta.url);

/** What is read at most of the main script, or of a source map: bounds the time a huge file takes. */
const READ_LIMIT = 256 * 1024 * 1024;
const CHUNK = 1024 * 1024;
/** How many bytes after a needle are handed over with it: a module's path, a source map's URL. */
const WINDOW = 256;
/** Enough frames to get from `connect` past a library's own layers to the file that called it. */
const STACK_DEPTH = 64;

/** A module's file alone on a comment line: how esbuild heads each module it copied in. */
const MODULE_LINE = /^([\w@.+/-]+\.(?:[cm]?[jt]sx?|json))\r?\n/;
/** A file heading its license comments in esbuild's `/*! Bundled license information:` block. */
const LICENSED_FILE = /^([^\s:]+\.[cm]?[jt]sx?):$/gm;

/**
 * Looks, in the background, for hooked packages bundled into the app's main script, and says once
 * what it found. Never throws; a fault is one line, and the app runs on as it would.
 */
export function noticeBundledLibraries(instrumentations: readonly Instrumentation[]): void {
  const file = mainScript();
  if (!file) return;
  inspectScript(file, instrumentations).catch((error: unknown) =>
    warn(`could not tell whether ${displayPath(file)} bundles libraries timetracer hooks (${describeError(error)})`),
  );
}

/** The file Node runs as the app (`node dist/app.js`, `node dist`), if there is one. */
function mainScript(): string | undefined {
  const entry = process.argv[1];
  if (!entry) return undefined;
  try {
    return require.resolve(path.resolve(entry));
  } catch {
    return undefined;
  }
}

/** The packages the instrumentations hook by file (not builtins), each once, in declaration order. */
function hookedPackages(instrumentations: readonly Instrumentation[]): string[] {
  return [...new Set(instrumentations.flatMap(({ hooks }) => hooks.flatMap((hook) => ('versions' in hook ? [hook.module] : []))))];
}

async function inspectScript(file: string, instrumentations: readonly Instrumentation[]): Promise<void> {
  const hooked = hookedPackages(instrumentations);
  const script = await scanScript(file);
  const named = (packages: ReadonlySet<string>): string[] => hooked.filter((name) => packages.has(name));
  const where = displayPath(file);
  // esbuild names every module it copies in, or none (minified): any name means these are all.
  if (script.namesModules) return report(where, named(script.modulePackages), 'its module comments');
  const mapped = script.sourceMap && (await sourceMapPackages(file, script.sourceMap));
  if (mapped) return report(where, named(mapped), 'its source map');
  const licensed = script.licenseAt === undefined ? [] : named(await licensedPackages(file, script.licenseAt));
  if (licensed.length) {
    warn(`${holdingLine(where, licensed, 'named by its license comments; being minified, it may hold more')}`);
  } else if (script.wrapsModules) {
    debug(`${where} wraps modules but names none; watching its first connection of its own`);
    watchOwnConnections(file, instrumentations);
  } else {
    debug(`${where} is not a bundle of libraries timetracer hooks`);
  }
}

function report(where: string, packages: readonly string[], source: string): void {
  if (packages.length) warn(holdingLine(where, packages, `named by ${source}`));
  else debug(`${where} bundles no library timetracer hooks (read from ${source})`);
}

function holdingLine(where: string, packages: readonly string[], how: string): string {
  const flags = packages.map((name) => `--external:${name}`).join(' ');
  return (
    `${where} bundles ${packages.join(', ')} (${how}), which timetracer hooks only where they load from node_modules: ` +
    `inside the bundle nothing of them is recorded or replayed. Mark them external so they load from there: ` +
    `esbuild ${flags} (or --packages=external)`
  );
}

type SourceMapRef = { file: string } | { inlineAt: number };

interface ScriptScan {
  /** It names the files of the modules it holds: these are all of them. */
  namesModules: boolean;
  /** The packages of those files (`node_modules/pg/lib/client.js`: pg). */
  modulePackages: Set<string>;
  sourceMap?: SourceMapRef;
  /** Where esbuild's license block begins. */
  licenseAt?: number;
  /** It holds CommonJS modules wrapped as bundlers wrap them (`{exports:{}}`), minified. */
  wrapsModules: boolean;
}

interface Needle {
  text: Buffer;
  /** `offset`: where the needle begins in the file; `after`: up to WINDOW bytes following it. */
  found(offset: number, after: Buffer): void;
  /** Stop looking once found. */
  once?: boolean;
}

const latin1 = (bytes: Buffer): string => bytes.toString('latin1');

/** One pass over the main script for the marks bundlers leave. */
async function scanScript(file: string): Promise<ScriptScan> {
  const scan: ScriptScan = { namesModules: false, modulePackages: new Set(), wrapsModules: false };
  const mapComment = '\n//# sourceMappingURL=';
  await searchFile(file, [
    {
      text: Buffer.from('\n// '),
      found(_offset, after) {
        const module = MODULE_LINE.exec(latin1(after))?.[1];
        if (!module) return;
        scan.namesModules = true;
        const name = packageOf(`/${module}`);
        if (name) scan.modulePackages.add(name);
      },
    },
    {
      text: Buffer.from(mapComment),
      found(offset, after) {
        const url = /^\S*/.exec(latin1(after))![0];
        const inline = /^data:application\/json[^,]*;base64,/.exec(url);
        scan.sourceMap = inline ? { inlineAt: offset + mapComment.length + inline[0].length } : { file: mapFile(file, url) };
      },
    },
    { text: Buffer.from('/*! Bundled license information:'), found: (offset) => (scan.licenseAt = offset) },
    { text: Buffer.from('{exports:{}}'), found: () => (scan.wrapsModules = true), once: true },
  ]);
  return scan;
}

/** The map file a `sourceMappingURL` names, beside the script unless it says otherwise. */
function mapFile(script: string, url: string): string {
  const resolved = new URL(url, pathToFileURL(script));
  return resolved.protocol === 'file:' ? fileURLToPath(resolved) : '';
}

/**
 * Reads `file` in chunks and calls each needle where it occurs. Each chunk is searched natively
 * (Buffer#indexOf); the last WINDOW bytes are carried into the next, so that a needle across two
 * chunks is found, and what follows a needle is whole.
 */
async function searchFile(file: string, needles: readonly Needle[]): Promise<void> {
  const pending = new Set(needles);
  let carry: Buffer = Buffer.alloc(0);
  let base = 0;
  const search = (buffer: Buffer, until: number): void => {
    for (const needle of pending) {
      for (let at = buffer.indexOf(needle.text); at >= 0 && at < until; at = buffer.indexOf(needle.text, at + 1)) {
        const from = at + needle.text.length;
        needle.found(base + at, buffer.subarray(from, from + WINDOW));
        if (needle.once) {
          pending.delete(needle);
          break;
        }
      }
    }
  };
  for await (const chunk of fs.createReadStream(file, { highWaterMark: CHUNK, end: READ_LIMIT - 1 })) {
    const buffer = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    const until = Math.max(0, buffer.length - WINDOW);
    search(buffer, until);
    carry = buffer.subarray(until);
    base += until;
  }
  search(carry, carry.length);
}

/** The packages the files of esbuild's license block belong to (it names them from node_modules on). */
async function licensedPackages(file: string, at: number): Promise<Set<string>> {
  const packages = new Set<string>();
  let text = '';
  for await (const chunk of fs.createReadStream(file, { start: at, end: at + READ_LIMIT - 1, encoding: 'latin1' })) text += chunk;
  for (const [, licensed] of text.matchAll(LICENSED_FILE)) {
    const name = packageOf(licensed!.includes('node_modules/') ? `/${licensed}` : `/node_modules/${licensed}`);
    if (name) packages.add(name);
  }
  return packages;
}

/**
 * The packages of the files a source map lists in `sources`, read up to the end of that list
 * only; undefined when the map cannot be read (not deployed beside the bundle).
 */
async function sourceMapPackages(script: string, ref: SourceMapRef): Promise<Set<string> | undefined> {
  const sources = new SourcesList();
  try {
    if ('inlineAt' in ref) await readInlineMap(script, ref.inlineAt, sources);
    else if (ref.file) {
      for await (const text of fs.createReadStream(ref.file, { encoding: 'utf8', end: READ_LIMIT - 1 })) {
        if (sources.take(text as string)) break;
      }
    }
  } catch (error) {
    debug(`source map of ${displayPath(script)} not read (${describeError(error)})`);
  }
  if (!sources.found) return undefined;
  return new Set(sources.paths.flatMap((source) => packageOf(`/${source.replaceAll('\\', '/')}`) ?? []));
}

/** An inline map (`data:application/json;base64,...`), decoded as it is read. */
async function readInlineMap(script: string, at: number, sources: SourcesList): Promise<void> {
  const decoder = new TextDecoder();
  let base64 = '';
  for await (const chunk of fs.createReadStream(script, { start: at, end: at + READ_LIMIT - 1, encoding: 'latin1' })) {
    const end = (chunk as string).search(/[^A-Za-z0-9+/=]/);
    base64 += end < 0 ? chunk : (chunk as string).slice(0, end);
    // Whole groups of four characters decode alone; the rest waits for the next chunk.
    const whole = end < 0 ? base64.length - (base64.length % 4) : base64.length;
    const text = decoder.decode(Buffer.from(base64.slice(0, whole), 'base64'), { stream: end < 0 });
    base64 = base64.slice(whole);
    if (sources.take(text) || end >= 0) return;
  }
}

/**
 * A source map's `"sources": [...]` taken from its text as it arrives, without reading the
 * rest (its sourcesContent is larger than the bundle).
 */
class SourcesList {
  found = false;
  paths: string[] = [];
  private seen = '';
  private array: string | undefined;
  private inString = false;
  private escaped = false;

  /** Takes the next piece of the map's text; true once the list is complete. */
  take(text: string): boolean {
    if (this.array === undefined) {
      this.seen += text;
      const start = /"sources"\s*:\s*\[/.exec(this.seen);
      if (!start) {
        this.seen = this.seen.slice(-32);
        return false;
      }
      this.found = true;
      this.array = '[';
      text = this.seen.slice(start.index + start[0].length);
      this.seen = '';
    }
    for (let i = 0; i < text.length; i++) {
      const char = text[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (char === '\\') this.escaped = true;
        else if (char === '"') this.inString = false;
      } else if (char === '"') {
        this.inString = true;
      } else if (char === ']') {
        this.paths = (JSON.parse(`${this.array}${text.slice(0, i + 1)}`) as unknown[]).filter((p): p is string => typeof p === 'string');
        return true;
      }
    }
    this.array += text;
    return false;
  }
}

type Connect = (this: net.Socket, ...args: unknown[]) => net.Socket;

/**
 * Until the first connection the script's own code opens, not through a hooked builtin nor a
 * package outside it: then says so, and steps aside. Costs a stack capture per connection meanwhile.
 */
function watchOwnConnections(file: string, instrumentations: readonly Instrumentation[]): void {
  const own = new Set([file.replaceAll('\\', '/'), pathToFileURL(file).href]);
  const hooked = instrumentations.flatMap(codeLocations);
  const prototype = net.Socket.prototype as unknown as { connect: Connect };
  const connect = prototype.connect;
  let watching = true;
  prototype.connect = function watchedConnect(this: net.Socket, ...args: unknown[]): net.Socket {
    if (watching) {
      try {
        const files = callerFiles(watchedConnect, STACK_DEPTH);
        const caller = files.find((name) => name !== '' && !name.startsWith('node:'));
        if (caller && own.has(caller) && !files.some((name) => hooked.some((location) => name.includes(location)))) {
          watching = false;
          warn(ownConnectionLine(displayPath(file), describeDestination(destinationOf(args))));
        }
      } catch (error) {
        watching = false;
        debug(`stopped watching the connections of ${displayPath(file)} (${describeError(error)})`);
      }
      // Another wrapper may have come on top since: then this one stays, passing calls through.
      if (!watching && prototype.connect === watchedConnect) prototype.connect = connect;
    }
    return connect.apply(this, args);
  };
}

function ownConnectionLine(where: string, destination: string): string {
  return (
    `${where} is a bundle whose own code opened a connection to ${destination}, not through a library timetracer hooks: ` +
    `timetracer hooks libraries only where they load from node_modules, so the client bundled in it is not instrumented ` +
    `and nothing of it is recorded or replayed. Mark the bundled libraries external: esbuild --external:<package> ` +
    `(or --packages=external); built with --sourcemap, the bundle lets timetracer name them at start`
  );
}
