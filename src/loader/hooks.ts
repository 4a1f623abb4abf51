/**
 * Where instrumentations meet the modules they hook. Builtins are patched at once; package files
 * are patched as they load, through require-in-the-middle. An ESM `import` of a package's main
 * file does not pass through it, but the internal files that main file requires do, so hooking
 * an internal file covers CommonJS and ESM apps alike. A file that ES modules import directly
 * (`esm: true`) is hooked through import-in-the-middle's loader too, which is registered only
 * when such a package is installed: the loader costs every ESM import a detour.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire, register, syncBuiltinESMExports } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Hook as RequireHook } from 'require-in-the-middle';
import type { Hook, Instrumentation, InstrumentationContext, PackageTarget } from '../instrumentation.js';
import { describeError, warn } from '../log.js';

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
    warn(`could not instrument ${where} for ${entry.instrumentation.name} (${describeError(error)}); its calls are not recorded`);
  }
  return exports;
}

type Satisfies = (version: string, range: string, options: { includePrerelease: boolean }) => boolean;
let satisfiesFn: Satisfies | undefined;

/** semver's range check, loaded when a hooked package first loads: all of semver costs start-up ~10 ms. */
function satisfies(version: string, range: string): boolean {
  satisfiesFn ??= require('semver/functions/satisfies') as Satisfies;
  return satisfiesFn(version, range, { includePrerelease: true });
}

const versions = new Map<string, string | undefined>();

function packageVersion(basedir: string): string | undefined {
  if (!versions.has(basedir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(basedir, 'package.json'), 'utf8')) as { version?: unknown };
      versions.set(basedir, typeof pkg.version === 'string' ? pkg.version : undefined);
    } catch {
      versions.set(basedir, undefined);
    }
  }
  return versions.get(basedir);
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
  const esModules = [...byPackage.values()].flat().filter((entry) => entry.hook.esm && entry.hook.file);
  if (esModules.length) hookEsModules(esModules);
  if (byPackage.size === 0) return;
  new RequireHook([...byPackage.keys()], { internals: true }, (exports, name, basedir) => {
    const packageName = [...byPackage.keys()].find((p) => name === p || name.startsWith(`${p}/`));
    if (!packageName || !basedir) return exports;
    const file = name === packageName ? undefined : name.slice(packageName.length + 1);
    let current = exports;
    for (const entry of byPackage.get(packageName)!) {
      if (entry.hook.file === file && inRange(entry, basedir)) current = applyHook(entry, current, basedir) as typeof exports;
    }
    return current;
  });
}

function inRange(entry: Registered<PackageHook>, packageDir: string): boolean {
  const version = packageVersion(packageDir);
  return version !== undefined && satisfies(version, entry.hook.versions);
}

/** `/node_modules/<package>/<file>` at the end of a module's URL. */
function esModulePattern(hook: PackageHook): RegExp {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`/node_modules/${escape(hook.module)}/${escape(hook.file!)}$`);
}

/** Files of packages the app has installed, patched through import-in-the-middle as ES modules import them. */
function hookEsModules(entries: Array<Registered<PackageHook>>): void {
  const appRequire = createRequire(path.join(process.cwd(), 'index.js'));
  const installed = entries.filter(({ hook }) => {
    try {
      appRequire.resolve(`${hook.module}/package.json`);
      return true;
    } catch {
      return false;
    }
  });
  if (!installed.length) return;
  const patterns = installed.map((entry) => ({ entry, pattern: esModulePattern(entry.hook) }));
  const include = patterns.map((p) => p.pattern);
  // In the app's own thread where Node allows it (22.22.3+, 24.11.1+); else on a loader thread, which costs start-up ~60 ms.
  const inThread = require('import-in-the-middle/register-hooks.mjs') as { supportsSyncHooks(): boolean; register(options: { include: RegExp[] }): void };
  if (inThread.supportsSyncHooks()) inThread.register({ include });
  else register(pathToFileURL(require.resolve('import-in-the-middle/hook.mjs')), import.meta.url, { data: { include } });
  const { addHook } = require('import-in-the-middle') as typeof import('import-in-the-middle');
  addHook((url, exported) => {
    for (const { entry, pattern } of patterns) {
      if (!pattern.test(url)) continue;
      const file = fileURLToPath(url);
      const packageDir = file.slice(0, file.length - entry.hook.file!.length - 1);
      if (inRange(entry, packageDir)) applyHook(entry, exported, packageDir);
    }
  });
}
