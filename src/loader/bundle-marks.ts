/**
 * What esbuild leaves in a bundle about the modules it copied in, read from the file in one pass:
 * the comment line heading each module (`// node_modules/pg/lib/index.js`), which a minified
 * bundle drops; its `sourceMappingURL`; the license comments it gathers at the end
 * (`/*! Bundled license information:`); and the wrappers of CommonJS modules (`{exports:{}}`).
 */
import fs from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { packageOf } from '../stack.js';

/** What is read at most of a script or a source map: bounds the time a huge file takes. */
export const READ_LIMIT = 256 * 1024 * 1024;
/** What is read at most of a license block, which is kept in memory whole. */
const LICENSE_LIMIT = 4 * 1024 * 1024;
const CHUNK = 1024 * 1024;
/** How many bytes after a needle are handed over with it: a module's path, a source map's URL. */
const WINDOW = 256;

/** A module's file alone on a comment line: how esbuild heads each module it copied in. */
const MODULE_LINE = /^([\w@.+/-]+\.(?:[cm]?[jt]sx?|json))\r?\n/;
/** A file heading its license comments in esbuild's license block. */
const LICENSED_FILE = /^([^\s:]+\.[cm]?[jt]sx?):$/gm;

/** An external map file, or where the base64 of an inline one begins in the script. */
export type SourceMapRef = { file: string } | { inlineAt: number };

export interface BundleMarks {
  /** It names the files of the modules it holds: then it names all of them. */
  namesModules: boolean;
  /** The packages of those files (`node_modules/pg/lib/client.js`: pg). */
  modulePackages: Set<string>;
  sourceMap?: SourceMapRef;
  /** Where the files of esbuild's license block begin. */
  licenseAt?: number;
  /** It holds CommonJS modules wrapped as minified bundles wrap them. */
  wrapsModules: boolean;
}

interface Needle {
  text: Buffer;
  /** `offset`: where the needle begins in the file; `after`: up to WINDOW bytes following it. */
  found(offset: number, after: Buffer): void;
  /** Whether it is still looked for. */
  wanted(): boolean;
}

/**
 * One pass over `file`. Every mark but the wrappers begins a line with `/`, which few lines of a
 * minified bundle do: one search finds them all, and they are told apart where it stops.
 */
export async function readBundleMarks(file: string): Promise<BundleMarks> {
  const marks: BundleMarks = { namesModules: false, modulePackages: new Set(), wrapsModules: false };
  const lineMarks: ReadonlyArray<[string, (restAt: number, rest: string) => void]> = [
    [
      '/ ',
      (_restAt, rest) => {
        const module = MODULE_LINE.exec(rest)?.[1];
        if (!module) return;
        marks.namesModules = true;
        const name = packageOf(`/${module}`);
        if (name) marks.modulePackages.add(name);
      },
    ],
    [
      '/# sourceMappingURL=',
      (restAt, rest) => {
        const url = /^\S*/.exec(rest)![0];
        const inline = /^data:application\/json[^,]*;base64,/.exec(url);
        marks.sourceMap = inline ? { inlineAt: restAt + inline[0].length } : { file: mapFile(file, url) };
      },
    ],
    ['*! Bundled license information:', (restAt) => (marks.licenseAt = restAt)],
  ];
  const lineStart = Buffer.from('\n/');
  await searchFile(file, [
    {
      text: lineStart,
      found(offset, after) {
        const text = after.toString('latin1');
        const mark = lineMarks.find(([start]) => text.startsWith(start));
        if (mark) mark[1](offset + lineStart.length + mark[0].length, text.slice(mark[0].length));
      },
      wanted: () => true,
    },
    // Only a bundle that names no module is told by its wrappers: found once, early, if at all.
    {
      text: Buffer.from('{exports:{}}'),
      found: () => (marks.wrapsModules = true),
      wanted: () => !marks.wrapsModules && !marks.namesModules,
    },
  ]);
  return marks;
}

/** The map file a `sourceMappingURL` names, beside the script unless it says otherwise ('' when not a file). */
function mapFile(script: string, url: string): string {
  try {
    const resolved = new URL(url, pathToFileURL(script));
    return resolved.protocol === 'file:' ? fileURLToPath(resolved) : '';
  } catch {
    return '';
  }
}

/**
 * Reads `file` from `start`, at most `limit` bytes, handing each chunk to `take` until it returns
 * true. A chunk is good only during the call: the next is read into the same memory. Only a
 * regular file is read: from a pipe (`node <(cat app.js)`) it would take what Node reads.
 */
export async function readChunks(file: string, start: number, limit: number, take: (chunk: Buffer) => boolean): Promise<void> {
  if (!(await fs.promises.stat(file)).isFile()) return;
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (let position = start; position < start + limit; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK, start + limit - position), position);
      if (!bytesRead || take(buffer.subarray(0, bytesRead))) return;
      position += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Calls each needle where it occurs in `file`, each chunk searched natively (Buffer#indexOf) where
 * it lies. A needle in a chunk's last WINDOW bytes is looked for again in a small seam with the
 * next chunk's first bytes, so that it is found across the two, and what follows it is whole.
 */
async function searchFile(file: string, needles: readonly Needle[]): Promise<void> {
  let pending: Buffer = Buffer.alloc(0);
  let base = 0;
  /** Calls the needles found at `buffer` positions below `until`; `buffer` starts at `base` in the file. */
  const search = (buffer: Buffer, until: number): void => {
    for (const needle of needles) {
      let at = -1;
      while (needle.wanted() && (at = buffer.indexOf(needle.text, at + 1)) >= 0 && at < until) {
        const from = at + needle.text.length;
        needle.found(base + at, buffer.subarray(from, from + WINDOW));
      }
    }
  };
  await readChunks(file, 0, READ_LIMIT, (chunk) => {
    if (pending.length) search(Buffer.concat([pending, chunk.subarray(0, WINDOW)]), pending.length);
    base += pending.length;
    const until = Math.max(0, chunk.length - WINDOW);
    search(chunk, until);
    pending = Buffer.from(chunk.subarray(until));
    base += until;
    return false;
  });
  search(pending, pending.length);
}

/**
 * The packages of the files esbuild's license block lists from `at` (it names them from
 * node_modules on: `express/lib/response.js:`), read to the block's end.
 */
export async function licensedPackages(file: string, at: number): Promise<Set<string>> {
  let block = '';
  await readChunks(file, at, LICENSE_LIMIT, (chunk) => {
    block += chunk.toString('latin1');
    const end = block.indexOf('*/');
    if (end >= 0) block = block.slice(0, end);
    return end >= 0;
  });
  const packages = new Set<string>();
  for (const [, licensed] of block.matchAll(LICENSED_FILE)) {
    const name = packageOf(licensed!.includes('node_modules/') ? `/${licensed}` : `/node_modules/${licensed}`);
    if (name) packages.add(name);
  }
  return packages;
}
