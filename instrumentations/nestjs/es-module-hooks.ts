/**
 * Node module hooks that hand timetracer the exports of a few ES module files once each has run.
 * Nest 12 ships ES modules only, which the loader's compile hook (CommonJS files) never sees. The
 * hook adds two lines at the end of each listed file: an import of the module's own namespace,
 * and a call handing it to the function timetracer keeps under `LOADED`, which then patches the
 * exported classes' prototypes in place. Nothing else is changed, and no line moves.
 *
 * This file is also the hooks module Node runs off the main thread where it has no synchronous
 * hooks (`module.register`, Node before 22.15): it imports nothing.
 */

/** The global key of the function a tapped module hands its namespace to: `(url, namespace) => void`. */
export const LOADED = 'timetracer.esm-loaded';

/** What `module.register` passes to `initialize`: the ends of the file URLs to tap. */
export interface TapData {
  suffixes: readonly string[];
}

/** What a load hook resolves with (the part of Node's LoadFnOutput read here). */
export interface LoadResult {
  format?: string | null;
  source?: string | Uint8Array | null;
}

export type NextLoad = (url: string, context?: object) => LoadResult | Promise<LoadResult>;

let tapped: readonly string[] = [];

export function initialize(data: TapData): void {
  tapped = data.suffixes;
}

/** The off-thread load hook. */
export async function load(url: string, context: object, nextLoad: NextLoad): Promise<LoadResult> {
  return withTap(await nextLoad(url, context), url, tapped);
}

/**
 * `result` with the tap added when `url` is an ES module ending in one of `suffixes`. It runs
 * inside the app's imports: should it fail, the module loads as it is.
 */
export function withTap(result: LoadResult, url: string, suffixes: readonly string[]): LoadResult {
  if (result.format !== 'module' || result.source == null || !suffixes.some((suffix) => url.endsWith(suffix))) return result;
  try {
    const source = typeof result.source === 'string' ? result.source : new TextDecoder().decode(result.source);
    const href = JSON.stringify(url);
    return {
      ...result,
      source: `${source}\n;import * as timetracerTappedNamespace from ${href};\nglobalThis[Symbol.for(${JSON.stringify(LOADED)})]?.(${href}, timetracerTappedNamespace);\n`,
    };
  } catch {
    return result;
  }
}
