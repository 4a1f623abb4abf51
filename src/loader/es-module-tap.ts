/**
 * What Node's module hooks do to a hooked ES module file: two statements added at its end. They
 * hand the module's namespace, as it finishes running, to the function timetracer keeps under
 * `ES_MODULE_LOADED`, with a function that assigns one of its exports from inside the module (a
 * binding can be assigned only there). Nothing else changes and no line moves.
 *
 * This file is also the hooks module Node runs off the main thread where it has no synchronous
 * hooks (`module.register`, before Node 22.15): it imports nothing.
 */

/** The global key of the `EsModuleLoaded` function a tapped module calls. */
export const ES_MODULE_LOADED = 'timetracer.es-module-loaded';

/**
 * Assigns `value` to the module's binding exported as `name`: false when the module declares no
 * binding of its own under that name; throws when the binding cannot be assigned (a `const`, an
 * import).
 */
export type Rebind = (name: string, value: unknown) => boolean;

/** What a tapped module calls as it finishes running, with its own URL and namespace. */
export type EsModuleLoaded = (url: string, namespace: object, rebind: Rebind) => void;

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
    return { ...result, source: source + tap(source, url) };
  } catch {
    return result;
  }
}

/**
 * The statements added: an import of the module's own namespace, and the call, which nothing it
 * throws gets past. The names they add are ones the source does not hold, so none clashes with
 * the module's.
 */
function tap(source: string, url: string): string {
  const [namespace, name, value] = unusedNames(source, ['timetracerNamespace', 'timetracerName', 'timetracerValue']);
  const href = JSON.stringify(url);
  const assignments = localExports(source)
    .map(([exported, local]) => `case ${JSON.stringify(exported)}: ${local} = ${value}; return true;`)
    .join(' ');
  const rebind = `(${name}, ${value}) => { switch (${name}) { ${assignments} } return false; }`;
  return `\n;import * as ${namespace} from ${href};\ntry { globalThis[Symbol.for(${JSON.stringify(ES_MODULE_LOADED)})]?.(${href}, ${namespace}, ${rebind}); } catch {}\n`;
}

function unusedNames(source: string, bases: readonly string[]): string[] {
  return bases.map((base) => {
    let name = base;
    for (let n = 1; source.includes(name); n++) name = `${base}${n}`;
    return name;
  });
}

const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200C\u200D]*$/u;

/** Names no binding can have in a module, which assigning to would make the source invalid. */
const RESERVED = new Set(
  (
    'await break case catch class const continue debugger default delete do else enum export extends false finally for ' +
    'function if implements import in instanceof interface let new null package private protected public return static ' +
    'super switch this throw true try typeof var void while with yield arguments eval'
  ).split(' '),
);

/** `export { a as b, c }` with no `from`: the module's own bindings. */
const EXPORT_LIST = /\bexport\s*\{([^}]*)\}(?!\s*from\b)/g;
/** `export function f`, `export class C`, `export let x`, `export var y`. */
const EXPORT_DECLARATION =
  /\bexport\s+(?:async\s+)?(?:function\b\s*\*?\s*|(?:class|let|var)\s+)([\p{ID_Start}$_][\p{ID_Continue}$\u200C\u200D]*)/gu;

/**
 * The module's exports that name a binding of its own, as [exported name, local name]. Read from
 * the source by pattern, not parsed: a match inside a string or a comment adds an assignment to a
 * binding that does not exist, which fails only if it runs (a replaced export's name must also
 * match), and only valid names are kept, so the added source stays valid.
 */
function localExports(source: string): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  for (const [, list] of source.matchAll(EXPORT_LIST)) {
    for (const specifier of list!.split(',')) {
      const [local, as, exported = local, ...rest] = specifier.trim().split(/\s+/);
      if (!local || rest.length || (as !== undefined && as !== 'as')) continue;
      const name = exportedName(exported);
      if (name !== undefined && isAssignable(local)) found.push([name, local]);
    }
  }
  for (const [, local] of source.matchAll(EXPORT_DECLARATION)) if (isAssignable(local!)) found.push([local!, local!]);
  return found;
}

function isAssignable(name: string): boolean {
  return IDENTIFIER.test(name) && !RESERVED.has(name);
}

/** An export's name: an identifier, or a string (`export { a as "a-b" }`). */
function exportedName(text: string): string | undefined {
  if (IDENTIFIER.test(text)) return text;
  const quoted = /^(["'])([^"'\\]*)\1$/.exec(text);
  return quoted?.[2];
}
