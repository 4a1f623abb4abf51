/**
 * Which hooked package a loaded file is part of, and whether its installed version is one the hook
 * supports: the same answer for a CommonJS file and an ES module.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { EsModuleTarget, Hook, Instrumentation, PackageTarget } from '../instrumentation.js';
import { describeError } from '../log.js';
import { couldNotPatch, type Registered } from './patch-once.js';

const require = createRequire(import.meta.url);

export type PackageHook = Hook & PackageTarget;
export type EsModuleHook = Hook & EsModuleTarget;

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

/** Whether the package installed in `packageDir` is in the hook's range. */
export function inRange(hook: PackageHook, packageDir: string): boolean {
  const { version } = packageInfo(packageDir);
  return version !== undefined && satisfies(version, hook.versions);
}

/** Says, once per installed copy, when no hook of a dependency plugin supports its version. */
export type VersionCheck = (packageName: string, packageDir: string) => void;

/**
 * Says, once per installed copy, when a dependency plugin hooks a package whose installed version
 * none of its hooks supports: its calls would otherwise pass unseen. `entries`: every package hook,
 * CommonJS and ES module alike.
 */
export function versionCheck(entries: ReadonlyArray<Registered<PackageHook>>): VersionCheck {
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
      if (pluginEntries.some((entry) => inRange(entry.hook, packageDir))) continue;
      const ranges = widestRanges(pluginEntries.map((entry) => entry.hook.versions)).join(' or ');
      pluginEntries[0]!.ctx.notAttached(
        `${packageName} ${packageInfo(packageDir).version ?? '(no version)'} at ${packageDir} is not a version it supports (${ranges})`,
      );
    }
  };
}

/**
 * Hands `patch` each of `entries` whose hooked file `filename` is, with the directory of its
 * package, once the installed version is checked and when it is in the hook's range. A fault is
 * one line of the hook's plugin, and the other hooks are still run.
 */
export function forEachHookOf<H extends PackageHook>(
  filename: string,
  entries: ReadonlyArray<Registered<H>>,
  checkVersion: VersionCheck,
  patch: (entry: Registered<H>, packageDir: string) => void,
): void {
  // The same path with forward slashes (of the same length), to compare with hooks' paths.
  const file = filename.replaceAll('\\', '/');
  for (const entry of entries) {
    try {
      const packageDir = hookedPackageDir(entry.hook, filename, file);
      if (!packageDir) continue;
      checkVersion(entry.hook.module, packageDir);
      if (inRange(entry.hook, packageDir)) patch(entry, packageDir);
    } catch (error) {
      couldNotPatch(entry, describeError(error));
    }
  }
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
