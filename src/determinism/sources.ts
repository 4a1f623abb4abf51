/**
 * Where an app reads the clock and randomness: `Date.now()`, `new Date()` and `Date()` with no
 * arguments, `Math.random()`, node:crypto's `randomUUID`, `randomBytes`, `randomFillSync`,
 * `randomFill` and `randomInt`, and Web Crypto's `getRandomValues` and `randomUUID`
 * (globalThis.crypto, crypto.webcrypto; node:crypto's own `getRandomValues` calls the latter).
 * A read made in a session (a request, or the
 * process) by any code but timetracer's own and the instrumented libraries' goes through the
 * session's read stream: kept in record mode, served from the recording in replay. Everything
 * else reads live: `performance.now()`, `process.hrtime` and timers are never touched, since they
 * measure durations, and replay must not make a timeout fire differently.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReadKind } from '../cassette/schema.js';
import { markWrapped, wrapMethod } from '../wrap.js';
import { callerFiles, type StackAnchor } from '../stack.js';
import type { ReadStream, ReadValue } from './streams.js';

const require = createRequire(import.meta.url);

export interface ReadSources {
  /** The read stream of the session a read made here belongs to, if any. */
  streamOf(): ReadStream | undefined;
  /** Parts of file names whose reads are left live: timetracer's own, the instrumented libraries'. */
  excluded: readonly string[];
}

/** Where a read goes: a stream, under the key of the file that made it. */
type Target = { stream: ReadStream; key: string } | undefined;
type Locate = (below: StackAnchor) => Target;

/** Wraps every source it can; returns what it could not wrap, and why (those read live). */
export function installReadSources(sources: ReadSources): string[] {
  const locate = locator(sources);
  const problems: string[] = [];
  const attempt = (what: string, patch: () => void): void => {
    try {
      patch();
    } catch (error) {
      problems.push(`${what} (${error instanceof Error ? error.message : String(error)})`);
    }
  };
  attempt('Date', () => patchDate(locate));
  attempt('Math.random', () =>
    wrapMethod(
      Math,
      'random',
      (random) =>
        function random$(): number {
          return read(locate(random$), 'random', random);
        },
    ),
  );
  attempt('node:crypto', () => patchNodeCrypto(locate));
  attempt('globalThis.crypto', () => patchWebCrypto(locate));
  // ES named imports (`import { randomUUID } from 'node:crypto'`) see the wrapped functions.
  syncBuiltinESMExports();
  return problems;
}

/**
 * The read's value through the session's stream. A fault of timetracer's own makes it a live read,
 * never the app's error; what `live()` itself throws (a bad argument) is the app's, as without it.
 */
function read<T extends ReadValue>(target: Target, kind: ReadKind, live: () => T, fits?: (recorded: ReadValue) => boolean): T {
  if (!target) return live();
  let ranLive = false;
  try {
    return target.stream.read(
      target.key,
      kind,
      () => {
        ranLive = true;
        return live();
      },
      fits,
    ) as T;
  } catch (error) {
    if (ranLive) throw error;
    return live();
  }
}

function locator({ streamOf, excluded }: ReadSources): Locate {
  const keys = new Map<string, string | null>();
  return (below) => {
    try {
      const stream = streamOf();
      if (!stream) return undefined;
      const file = callerFiles(below, 1)[0] ?? '';
      let key = keys.get(file);
      if (key === undefined) {
        key = file === '' || excluded.some((part) => file.includes(part)) ? null : streamKey(file);
        keys.set(file, key);
      }
      return key === null ? undefined : { stream, key };
    } catch {
      // Whose read this is could not be told: it is read live.
      return undefined;
    }
  };
}

/**
 * A file as the same on every machine and from any working directory: from `node_modules/` on,
 * else relative to its project (the nearest folder above it with a package.json).
 */
function streamKey(file: string): string {
  const local = file.startsWith('file://') ? fileURLToPath(file).replaceAll('\\', '/') : file;
  const at = local.lastIndexOf('/node_modules/');
  if (at >= 0) return local.slice(at + 1);
  if (!path.isAbsolute(local)) return local;
  return path
    .relative(projectOf(path.dirname(local)), local)
    .split(path.sep)
    .join('/');
}

const projects = new Map<string, string>();

/** The nearest folder at or above `dir` holding a package.json; the working directory when none does. */
function projectOf(dir: string): string {
  let project = projects.get(dir);
  if (project === undefined) {
    const parent = path.dirname(dir);
    if (fs.existsSync(path.join(dir, 'package.json'))) project = dir;
    else project = parent === dir ? process.cwd() : projectOf(parent);
    projects.set(dir, project);
  }
  return project;
}

/** `Date` with its no-argument forms reading the clock through the session; every other form as it was. */
function patchDate(locate: Locate): void {
  const NativeDate = globalThis.Date;
  const clock = (below: StackAnchor): number => read(locate(below), 'clock', () => NativeDate.now());
  // biome-ignore lint/suspicious/noShadowRestrictedNames: the stand-in is named Date, as apps and libraries see it.
  const Date = function Date(this: unknown, ...args: unknown[]): unknown {
    if (!new.target) return new NativeDate(clock(Date)).toString();
    return Reflect.construct(NativeDate, args.length ? args : [clock(Date)], new.target);
  };
  const now = function now(): number {
    return clock(now);
  };
  Object.defineProperties(Date, {
    ...Object.getOwnPropertyDescriptors(NativeDate),
    now: { value: markWrapped(now, NativeDate.now), writable: true, configurable: true },
  });
  // Dates made before, and by Node itself, are Dates still: the prototype is the same one.
  Object.defineProperty(NativeDate.prototype, 'constructor', { value: Date, writable: true, configurable: true });
  globalThis.Date = markWrapped(Date, NativeDate) as unknown as DateConstructor;
}

interface NodeCrypto {
  randomUUID(options?: unknown): string;
  randomBytes(size: number, callback?: (error: Error | null, bytes: Buffer) => void): Buffer | undefined;
  randomFillSync<T>(buffer: T, offset?: number, size?: number): T;
  randomFill(buffer: unknown, ...rest: unknown[]): void;
  randomInt(...args: unknown[]): number | undefined;
}

/** The bytes `randomFillSync(buffer, offset, size)` fills: a view on them, undefined when the arguments are not plain. */
function fillView(buffer: unknown, offset: unknown, size: unknown): Uint8Array | undefined {
  const bytes = ArrayBuffer.isView(buffer)
    ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    : buffer instanceof ArrayBuffer
      ? new Uint8Array(buffer)
      : undefined;
  if (!bytes) return undefined;
  const element = (buffer as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
  const start = offset === undefined ? 0 : Number(offset) * element;
  const length = size === undefined ? bytes.length - start : Number(size) * element;
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > bytes.length) return undefined;
  return bytes.subarray(start, start + length);
}

/** Fills `view` through the session: the live fill recorded, or the recording's bytes copied in. */
function fill(target: Target, view: Uint8Array, liveFill: () => void): void {
  let filled = false;
  const encoded = read(
    target,
    'bytes',
    () => {
      liveFill();
      filled = true;
      return Buffer.from(view).toString('base64');
    },
    (recorded) => typeof recorded === 'string' && Buffer.byteLength(recorded, 'base64') === view.length,
  );
  if (!filled) view.set(Buffer.from(encoded, 'base64'));
}

function patchNodeCrypto(locate: Locate): void {
  const crypto = require('node:crypto') as NodeCrypto;
  const nativeFillSync = crypto.randomFillSync;
  wrapMethod(
    crypto,
    'randomUUID',
    (randomUUID) =>
      function randomUUID$(options?: unknown): string {
        return read(locate(randomUUID$), 'uuid', () => randomUUID(options));
      },
  );
  wrapMethod(
    crypto,
    'randomBytes',
    (randomBytes) =>
      function randomBytes$(size: number, callback?: (error: Error | null, bytes: Buffer) => void) {
        const target = locate(randomBytes$);
        if (!target) return randomBytes(size, callback);
        const taken = read(
          target,
          'bytes',
          () => randomBytes(size)!.toString('base64'),
          (recorded) => typeof recorded === 'string' && Buffer.byteLength(recorded, 'base64') === size,
        );
        const result = Buffer.from(taken, 'base64');
        if (typeof callback !== 'function') return result;
        // The bytes are taken at the call, in the session's order, and handed over later, as Node would.
        process.nextTick(callback, null, result);
        return undefined;
      },
  );
  wrapMethod(
    crypto,
    'randomFillSync',
    (randomFillSync) =>
      function randomFillSync$<T>(buffer: T, offset?: number, size?: number): T {
        const target = locate(randomFillSync$);
        const view = target && fillView(buffer, offset, size);
        if (!view) return randomFillSync(buffer, offset, size);
        fill(target, view, () => randomFillSync(buffer, offset, size));
        return buffer;
      },
  );
  wrapMethod(
    crypto,
    'randomFill',
    (randomFill) =>
      function randomFill$(buffer: unknown, ...rest: unknown[]): void {
        const callback = rest.at(-1);
        const [offset, size] = rest.slice(0, -1) as [number?, number?];
        const target = locate(randomFill$);
        const view = target && typeof callback === 'function' && fillView(buffer, offset, size);
        if (!view) {
          randomFill(buffer, ...rest);
          return;
        }
        fill(target, view, () => nativeFillSync(buffer, offset, size));
        process.nextTick(callback as (error: Error | null, buffer: unknown) => void, null, buffer);
      },
  );
  wrapMethod(
    crypto,
    'randomInt',
    (randomInt) =>
      function randomInt$(...args: unknown[]) {
        const callback = typeof args.at(-1) === 'function' ? (args.pop() as (error: Error | null, n: number) => void) : undefined;
        const target = locate(randomInt$);
        if (!target) return callback ? randomInt(...args, callback) : randomInt(...args);
        const n = read(target, 'int', () => randomInt(...args) as number);
        if (!callback) return n;
        process.nextTick(callback, null, n);
        return undefined;
      },
  );
}

interface WebCrypto {
  getRandomValues(this: WebCrypto, array: ArrayBufferView): ArrayBufferView;
  randomUUID(this: WebCrypto): string;
}

/** globalThis.crypto (crypto.webcrypto): its class's methods, which check what they are called on. */
function patchWebCrypto(locate: Locate): void {
  const prototype = Object.getPrototypeOf(globalThis.crypto) as WebCrypto;
  wrapMethod(
    prototype,
    'getRandomValues',
    (getRandomValues) =>
      function getRandomValues$(this: WebCrypto, array: ArrayBufferView): ArrayBufferView {
        const target = locate(getRandomValues$);
        const view = target && fillView(array, undefined, undefined);
        if (!view) return getRandomValues.call(this, array);
        fill(target, view, () => getRandomValues.call(this, array));
        return array;
      },
  );
  wrapMethod(
    prototype,
    'randomUUID',
    (randomUUID) =>
      function randomUUID$(this: WebCrypto): string {
        return read(locate(randomUUID$), 'uuid', () => randomUUID.call(this));
      },
  );
}
