/**
 * ES module files of hooked packages, which the compile hook of CommonJS files never sees. Node's
 * module hooks reach them: `module.registerHooks` (in the main thread, synchronous) from Node
 * 22.15, `module.register` (a hooks thread) before. Their load hook adds two statements at the end
 * of each hooked file (es-module-tap.ts), which hand its namespace over as it finishes running,
 * before any module importing it runs; the hook's patch is handed a copy of the exports, and the
 * exports it replaced there are assigned to the module's own bindings.
 *
 * A load hook costs every module the app loads, CommonJS ones too (docs/node-lines.md): it is
 * registered only when the app depends on a package such a hook names (app-dependencies.ts).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describeError } from '../log.js';
import { appDependsOnAny } from './app-dependencies.js';
import {
  ES_MODULE_LOADED,
  type EsModuleLoaded,
  type LoadResult,
  type NextLoad,
  type Rebind,
  type TapData,
  withTap,
} from './es-module-tap.js';
import { type EsModuleHook, forEachHookOf, type VersionCheck } from './hooked-packages.js';
import { couldNotPatch, patchOnce, type Registered } from './patch-once.js';

const require = createRequire(import.meta.url);

/** The part of `node:module` used here: `registerHooks` from Node 22.15, `register` before. */
interface ModuleHooksApi {
  registerHooks?(hooks: { load(url: string, context: object, nextLoad: NextLoad): LoadResult }): unknown;
  register(specifier: URL, options: { data: TapData }): void;
}

/** Patches each hooked ES module as it finishes running, for an app that depends on one of their packages. */
export function hookEsModules(entries: ReadonlyArray<Registered<EsModuleHook>>, checkVersion: VersionCheck): void {
  if (!entries.length) return;
  try {
    if (!appDependsOnAny(entries.map((entry) => entry.hook))) return;
    const loaded: EsModuleLoaded = (url, namespace, rebind) => patchLoaded(entries, checkVersion, url, namespace, rebind);
    (globalThis as Record<symbol, unknown>)[Symbol.for(ES_MODULE_LOADED)] = loaded;
    registerTap(entries.map((entry) => tappedSuffix(entry.hook)));
  } catch (error) {
    const plugins = new Map(entries.map((entry) => [entry.instrumentation, entry.ctx]));
    for (const ctx of plugins.values()) ctx.notAttached(`could not hook ES modules (${describeError(error)})`);
  }
}

/** How the URL of a file the hook may patch ends: its precise package is told once it has run. */
function tappedSuffix(hook: EsModuleHook): string {
  return hook.copiedAs ? `/${hook.file}` : `/node_modules/${hook.module}/${hook.file}`;
}

function registerTap(suffixes: readonly string[]): void {
  const nodeModule = require('node:module') as ModuleHooksApi;
  if (nodeModule.registerHooks) {
    nodeModule.registerHooks({ load: (url, context, nextLoad) => withTap(nextLoad(url, context) as LoadResult, url, suffixes) });
  } else {
    nodeModule.register(new URL('./es-module-tap.js', import.meta.url), { data: { suffixes } });
  }
}

/** Called by a tapped module as it finishes running: nothing here may fail the app's import. */
function patchLoaded(
  entries: ReadonlyArray<Registered<EsModuleHook>>,
  checkVersion: VersionCheck,
  url: string,
  namespace: object,
  rebind: Rebind,
): void {
  let filename: string;
  try {
    filename = fileURLToPath(url);
  } catch {
    return;
  }
  forEachHookOf(filename, entries, checkVersion, (entry, packageDir) => patchNamespace(entry, namespace, rebind, packageDir));
}

/**
 * Runs the patch on a copy of the module's exports, then assigns each export it replaced there (or
 * in the object it returned) to the module's binding. When one cannot be, none stays replaced.
 */
function patchNamespace(entry: Registered<EsModuleHook>, namespace: object, rebind: Rebind, packageDir: string): void {
  const before = exportsOf(namespace);
  const exports = { ...before };
  const after = (patchOnce(entry, namespace, exports, packageDir) ?? exports) as Record<string, unknown>;
  const rebound: string[] = [];
  for (const [name, value] of Object.entries(before)) {
    if (!(name in after) || after[name] === value) continue;
    const problem = assign(rebind, name, after[name]);
    if (problem) {
      for (const done of rebound) assign(rebind, done, before[done]);
      couldNotPatch(entry, `its export ${name} cannot be replaced: ${problem}`);
      return;
    }
    rebound.push(name);
  }
}

/** The namespace's exports as a plain object, without those not yet set (an import cycle's). */
function exportsOf(namespace: object): Record<string, unknown> {
  const exports: Record<string, unknown> = {};
  for (const name of Object.keys(namespace)) {
    try {
      exports[name] = (namespace as Record<string, unknown>)[name];
    } catch {
      // A binding the cycle has not reached yet: nothing to patch there.
    }
  }
  return exports;
}

/** Assigns an export's binding; what went wrong, if it could not. */
function assign(rebind: Rebind, name: string, value: unknown): string | undefined {
  try {
    return rebind(name, value) ? undefined : 'the module does not declare it itself';
  } catch (error) {
    return describeError(error);
  }
}
