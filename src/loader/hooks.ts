/**
 * Where instrumentations meet the modules they hook. Builtins are patched at once; package files
 * are patched as they load, through require-in-the-middle. An ESM `import` of a package's main
 * file does not pass through it, but the internal files that main file requires do, so hooking
 * an internal file covers CommonJS and ESM apps alike. A CommonJS file that ES modules import
 * directly, and a generated copy of a package's file, are hooked where Node compiles them (see
 * hookCompiledFiles).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { Hook as RequireHook } from 'require-in-the-middle';
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
      const { name, version } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      info = { ...(typeof name === 'string' && { name }), ...(typeof version === 'string' && { version }) };
    } catch {
      info = {};
    }
    packages.set(dir, info);
  }
  return info;
}

export function installHooks(instrumentations: readonly Instrumentation[], contextFor: (i: Instrumentation) => InstrumentationContext): void {
  const byPackage = new Map<string, Array<Registered<PackageHook>>>();
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
        byPackage.set(hook.module, [...(byPackage.get(hook.module) ?? []), { ...entry, hook }]);
      }
    }
  }
  // ESM named imports of builtins (`import { request } from 'node:http'`) see patched functions.
  if (patchedBuiltins) syncBuiltinESMExports();
  const checkVersion = versionCheck(byPackage);
  const compiledFiles = [...byPackage.values()].flat().filter((entry) => entry.hook.file && (entry.hook.esm || entry.hook.copiedAs));
  if (compiledFiles.length) hookCompiledFiles(compiledFiles, checkVersion);
  if (byPackage.size === 0) return;
  new RequireHook([...byPackage.keys()], { internals: true }, (exports, name, basedir) => {
    const packageName = [...byPackage.keys()].find((p) => name === p || name.startsWith(`${p}/`));
    if (!packageName || !basedir) return exports;
    checkVersion(packageName, basedir);
    const file = name === packageName ? undefined : name.slice(packageName.length + 1);
    let current = exports;
    for (const entry of byPackage.get(packageName)!) {
      if (entry.hook.file === file && inRange(entry, basedir)) current = applyHook(entry, current, basedir) as typeof exports;
    }
    return current;
  });
}

function inRange(entry: Registered<PackageHook>, packageDir: string): boolean {
  const { version } = packageInfo(packageDir);
  return version !== undefined && satisfies(version, entry.hook.versions);
}

/**
 * Says, once per installed copy, when a dependency plugin hooks a package whose installed version
 * none of its hooks supports: its calls would otherwise pass unseen.
 */
function versionCheck(byPackage: ReadonlyMap<string, ReadonlyArray<Registered<PackageHook>>>): (packageName: string, packageDir: string) => void {
  const checked = new Set<string>();
  return (packageName, packageDir) => {
    if (checked.has(packageDir)) return;
    checked.add(packageDir);
    const byPlugin = new Map<Instrumentation, Array<Registered<PackageHook>>>();
    for (const entry of byPackage.get(packageName) ?? []) {
      if (entry.instrumentation.role === 'dependency') byPlugin.set(entry.instrumentation, [...(byPlugin.get(entry.instrumentation) ?? []), entry]);
    }
    for (const entries of byPlugin.values()) {
      if (entries.some((entry) => inRange(entry, packageDir))) continue;
      const ranges = widestRanges(entries.map((entry) => entry.hook.versions)).join(' or ');
      entries[0]!.ctx.notAttached(`${packageName} ${packageInfo(packageDir).version ?? '(no version)'} at ${packageDir} is not a version it supports (${ranges})`);
    }
  };
}

type CompileFn = (module: { exports: unknown }, filename: string) => void;

/**
 * Files ES modules import directly (`esm: true`), and copies of a package's file that a code
 * generator writes outside node_modules (`copiedAs`). An `import` of a CommonJS file, or a
 * `require` of a file outside any package, passes require-in-the-middle by; but Node compiles
 * every CommonJS file through `Module._extensions['.js']`, and there its exports are patched once
 * it has run, before whoever loaded it reads them. (A `require` of a hooked file passes here too;
 * each hook runs once per exports object.)
 */
function hookCompiledFiles(entries: Array<Registered<PackageHook>>, checkVersion: (packageName: string, packageDir: string) => void): void {
  const extensions = (require('node:module') as { _extensions: Record<string, CompileFn> })._extensions;
  const compile = extensions['.js']!;
  extensions['.js'] = function (this: unknown, module, filename) {
    compile.call(this, module, filename);
    for (const entry of entries) {
      const packageDir = hookedPackageDir(entry.hook, filename);
      if (packageDir) checkVersion(entry.hook.module, packageDir);
      if (packageDir && inRange(entry, packageDir)) module.exports = applyHook(entry, module.exports, packageDir);
    }
  };
}

/** The directory of the package (or generated copy) `filename` is the hook's file of, if it is. */
function hookedPackageDir(hook: PackageHook, filename: string): string | undefined {
  const file = path.join(path.sep, hook.file!);
  if (!filename.endsWith(file)) return undefined;
  const dir = filename.slice(0, filename.length - file.length);
  if (dir.endsWith(path.join(path.sep, 'node_modules', hook.module))) return hook.esm ? dir : undefined;
  return hook.copiedAs && packageInfo(dir).name?.startsWith(hook.copiedAs) ? dir : undefined;
}
