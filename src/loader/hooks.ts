/**
 * Where instrumentations meet the modules they hook. Builtins are patched at once. A package's
 * files are patched where Node compiles them: every CommonJS file, whether a `require` or an
 * ES `import` loads it, passes once through `Module._extensions['.js']`, and there its exports
 * are patched once it has run, before whoever loaded it reads them. That costs a few string tests
 * per file loaded; a hook on `require` itself (require-in-the-middle) resolves every `require`
 * call again, and a `module.registerHooks` load hook costs about as much (docs/node-lines.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type { Hook, Instrumentation, InstrumentationContext, PackageTarget } from '../instrumentation.js';
import { describeError } from '../log.js';

const require = createRequire(import.meta.url);

type PackageHook = Hook & PackageTarget;

interface Registered<H extends Hook = Hook> {
  hook: H;
  instrumentation: Instrumentation;
  ctx: InstrumentationContext;
  patched: WeakSet<object>;
}

/** Patches `exports`; returns what the module exports from now on (itself, or a replacement). */
function applyHook(entry: Registered, exports: unknown, packageDir?: string): unknown {
  if ((typeof exports !== 'object' && typeof exports !== 'function') || exports === null) return exports;
  if (entry.patched.has(exports)) return exports;
  entry.patched.add(exports);
  try {
    const replacement = entry.hook.patch(exports, entry.ctx, packageDir);
    if (replacement !== undefined && replacement !== exports) {
      entry.patched.add(replacement as object);
      return replacement;
    }
  } catch (error) {
    const where = 'file' in entry.hook && entry.hook.file ? `${entry.hook.module}/${entry.hook.file}` : entry.hook.module;
    entry.ctx.notAttached(`could not patch ${where} (${describeError(error)})`);
  }
  return exports;
}

type Satisfies = (version: string, range: string, options: { includePrerelease: boolean }) => boolean;
type Subset = (sub: string, dom: string) => boolean;
let satisfiesFn: Satisfies | undefined;

/** semver's range check, loaded when a hooked package first loads: all of semver costs start-up ~10 ms. */
function satisfies(version: string, range: string): boolean {
  satisfiesFn ??= require('semver/functions/satisfies') as Satisfies;
  return satisfiesFn(version, range, { includePrerelease: true });
}

/** The ranges none of the others contains: what a package's hooks support, said once each. */
function widestRanges(ranges: readonly string[]): string[] {
  const subset = require('semver/ranges/subset') as Subset;
  const distinct = [...new Set(ranges)];
  return distinct.filter((range) => !distinct.some((other) => other !== range && subset(range, other)));
}

interface PackageInfo {
  name?: string;
  version?: string;
}

const packages = new Map<string, PackageInfo>();

/** The name and version in a directory's package.json (empty when it has none). */
function packageInfo(dir: string): PackageInfo {
  let info = packages.get(dir);
  if (!info) {
    try {
      const { name, version } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      info = { ...(typeof name === 'string' && { name }), ...(typeof version === 'string' && { version }) };
    } catch {
      info = {};
    }
    packages.set(dir, info);
  }
  return info;
}

export function installHooks(
  instrumentations: readonly Instrumentation[],
  contextFor: (i: Instrumentation) => InstrumentationContext,
): void {
  const packageHooks: Array<Registered<PackageHook>> = [];
  let patchedBuiltins = false;
  for (const instrumentation of instrumentations) {
    const ctx = contextFor(instrumentation);
    for (const hook of instrumentation.hooks) {
      const entry = { instrumentation, ctx, patched: new WeakSet<object>() };
      if (hook.module === 'globalThis') {
        applyHook({ ...entry, hook }, globalThis);
      } else if (hook.module.startsWith('node:')) {
        applyHook({ ...entry, hook }, require(hook.module));
        patchedBuiltins = true;
      } else if ('versions' in hook) {
        packageHooks.push({ ...entry, hook });
      }
    }
  }
  // ESM named imports of builtins (`import { request } from 'node:http'`) see patched functions.
  if (patchedBuiltins) syncBuiltinESMExports();
  if (packageHooks.length) hookCompiledFiles(packageHooks);
}

function inRange(entry: Registered<PackageHook>, packageDir: string): boolean {
  const { version } = packageInfo(packageDir);
  return version !== undefined && satisfies(version, entry.hook.versions);
}

type CompileFn = (module: { exports: unknown }, filename: string) => void;

/** Patches each hooked file's exports as Node compiles it; says once per installed copy when its version is not supported. */
function hookCompiledFiles(entries: ReadonlyArray<Registered<PackageHook>>): void {
  const checkVersion = versionCheck(entries);
  const extensions = (require('node:module') as { _extensions: Record<string, CompileFn> })._extensions;
  const compile = extensions['.js']!;
  extensions['.js'] = function (this: unknown, module, filename) {
    compile.call(this, module, filename);
    // The same path with forward slashes (of the same length), to compare with hooks' paths.
    const file = filename.replaceAll('\\', '/');
    for (const entry of entries) {
      const packageDir = hookedPackageDir(entry.hook, filename, file);
      if (!packageDir) continue;
      checkVersion(entry.hook.module, packageDir);
      if (inRange(entry, packageDir)) module.exports = applyHook(entry, module.exports, packageDir);
    }
  };
}

/**
 * Says, once per installed copy, when a dependency plugin hooks a package whose installed version
 * none of its hooks supports: its calls would otherwise pass unseen.
 */
function versionCheck(entries: ReadonlyArray<Registered<PackageHook>>): (packageName: string, packageDir: string) => void {
  const checked = new Set<string>();
  return (packageName, packageDir) => {
    if (checked.has(packageDir)) return;
    checked.add(packageDir);
    const byPlugin = new Map<Instrumentation, Array<Registered<PackageHook>>>();
    for (const entry of entries) {
      if (entry.hook.module !== packageName || entry.instrumentation.role !== 'dependency') continue;
      byPlugin.set(entry.instrumentation, [...(byPlugin.get(entry.instrumentation) ?? []), entry]);
    }
    for (const pluginEntries of byPlugin.values()) {
      if (pluginEntries.some((entry) => inRange(entry, packageDir))) continue;
      const ranges = widestRanges(pluginEntries.map((entry) => entry.hook.versions)).join(' or ');
      pluginEntries[0]!.ctx.notAttached(
        `${packageName} ${packageInfo(packageDir).version ?? '(no version)'} at ${packageDir} is not a version it supports (${ranges})`,
      );
    }
  };
}

/**
 * The directory of the package (or generated copy) whose hooked file `filename` is, if it is:
 * `<dir>/<file>` with `<dir>` ending in node_modules/<module>, or the package's main file when
 * the hook names no file. `file`: `filename` with forward slashes.
 */
function hookedPackageDir(hook: PackageHook, filename: string, file: string): string | undefined {
  if (!hook.file) {
    const marker = `/node_modules/${hook.module}/`;
    const at = file.lastIndexOf(marker);
    if (at < 0) return undefined;
    const dir = filename.slice(0, at + marker.length - 1);
    return mainFile(hook.module, dir) === filename ? dir : undefined;
  }
  const suffix = `/${hook.file}`;
  if (!file.endsWith(suffix)) return undefined;
  const dir = filename.slice(0, filename.length - suffix.length);
  if (file.slice(0, dir.length).endsWith(`/node_modules/${hook.module}`)) return dir;
  return hook.copiedAs && packageInfo(dir).name?.startsWith(hook.copiedAs) ? dir : undefined;
}

const mainFiles = new Map<string, string | undefined>();

/** The file `require(name)` loads for the package installed in `dir` (its "exports", else "main"). */
function mainFile(name: string, dir: string): string | undefined {
  if (!mainFiles.has(dir)) {
    let main: string | undefined;
    try {
      // Resolved from beside the package, as its dependents resolve it.
      main = createRequire(path.join(dir, '..', name.includes('/') ? '..' : '', 'noop.js')).resolve(name);
    } catch {
      main = undefined;
    }
    mainFiles.set(dir, main);
  }
  return mainFiles.get(dir);
}
