/**
 * The packages a bundle's source map lists in `sources` (`../node_modules/pg/lib/client.js`),
 * read up to the end of that list only: the rest of a map (its sourcesContent) is larger than the
 * bundle. From a map file beside the bundle, or from an inline `data:` URL, decoded as it is read.
 */
import { packageOf } from '../stack.js';
import { READ_LIMIT, readChunks, type SourceMapRef } from './bundle-marks.js';

/** The packages, or undefined when the map has no `sources` or cannot be read (`problem` says why). */
export async function sourceMapPackages(
  script: string,
  ref: SourceMapRef,
  problem: (error: unknown) => void,
): Promise<Set<string> | undefined> {
  const sources = new SourcesList();
  try {
    if ('inlineAt' in ref) await readInlineMap(script, ref.inlineAt, sources);
    else if (ref.file) {
      const decoder = new TextDecoder();
      await readChunks(ref.file, 0, READ_LIMIT, (chunk) => sources.take(decoder.decode(chunk, { stream: true })));
    }
  } catch (error) {
    problem(error);
  }
  if (!sources.complete) return undefined;
  return new Set(sources.paths.flatMap((source) => packageOf(`/${source.replaceAll('\\', '/')}`) ?? []));
}

/** An inline map's base64, from `at` in the script to the first character base64 has not. */
async function readInlineMap(script: string, at: number, sources: SourcesList): Promise<void> {
  const decoder = new TextDecoder();
  let base64 = '';
  await readChunks(script, at, READ_LIMIT, (chunk) => {
    const text = chunk.toString('latin1');
    const end = text.search(/[^A-Za-z0-9+/=]/);
    base64 += end < 0 ? text : text.slice(0, end);
    // Whole groups of four characters decode alone; the rest waits for the next chunk.
    const whole = end < 0 ? base64.length - (base64.length % 4) : base64.length;
    const decoded = decoder.decode(Buffer.from(base64.slice(0, whole), 'base64'), { stream: end < 0 });
    base64 = base64.slice(whole);
    return sources.take(decoded) || end >= 0;
  });
}

/** A source map's `"sources": [...]`, taken from its text as it arrives. */
class SourcesList {
  complete = false;
  paths: string[] = [];
  /** The text before the list, kept as long as the key could still be cut across two pieces. */
  private before = '';
  /** The list's text so far, once its `[` is seen. */
  private list: string | undefined;
  private inString = false;
  private escaped = false;

  /** Takes the next piece of the map's text; true once the list is complete. */
  take(piece: string): boolean {
    let text = piece;
    if (this.list === undefined) {
      this.before += text;
      const start = /"sources"\s*:\s*\[/.exec(this.before);
      if (!start) {
        this.before = this.before.slice(-32);
        return false;
      }
      this.list = '[';
      text = this.before.slice(start.index + start[0].length);
      this.before = '';
    }
    // Where the list ends: its first `]` outside a string (a path may hold one: `pages/[id].js`).
    for (let i = 0; i < text.length; i++) {
      const char = text[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (char === '\\') this.escaped = true;
        else if (char === '"') this.inString = false;
      } else if (char === '"') {
        this.inString = true;
      } else if (char === ']') {
        const list = JSON.parse(`${this.list}${text.slice(0, i + 1)}`) as unknown[];
        this.paths = list.filter((path): path is string => typeof path === 'string');
        this.complete = true;
        return true;
      }
    }
    this.list += text;
    return false;
  }
}
