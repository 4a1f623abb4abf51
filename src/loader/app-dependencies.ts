/**
 * Whether the app depends on a package that ES module hooks name: what Node's module hooks are
 * registered for, since they cost every module the app loads. Being installed is not enough: a
 * repository holding a package among its development tools runs other apps too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type EsModuleHook, inRange } from './hooked-packages.js';

interface Manifest {
  dependencies?: unknown;
  workspaces?: unknown;
}

/**
 * Whether the app depends on a package one of `hooks` names, installed for it in a version that
 * hook supports and with the file it hooks. The app's dependencies are those of the package.json
 * nearest its main script, and of the one nearest the working directory (a process manager's
 * script may start it), and of the workspace root above either (npm, yarn and pnpm workspaces);
 * the package is the copy Node would find from that package.json's directory.
 */
export function appDependsOnAny(hooks: readonly EsModuleHook[]): boolean {
  const starts = process.argv[1] ? [path.dirname(path.resolve(process.argv[1])), process.cwd()] : [process.cwd()];
  const manifests = new Set(starts.flatMap((start) => appManifests(start)));
  return [...manifests].some((dir) => {
    const dependencies = readManifest(dir)?.dependencies;
    if (typeof dependencies !== 'object' || dependencies === null) return false;
    return hooks.some((hook) => Object.hasOwn(dependencies, hook.module) && installedFor(dir, hook));
  });
}

/** The directories of the package.json nearest `start` and of its workspace root, if it has one. */
function appManifests(start: string): string[] {
  const nearest = nearestManifest(start);
  if (nearest === undefined) return [];
  const root = workspaceRoot(nearest);
  return root === undefined ? [nearest] : [nearest, root];
}

function nearestManifest(start: string): string | undefined {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** The nearest directory above `dir` whose package.json lists workspaces, or that pnpm-workspace.yaml makes one. */
function workspaceRoot(dir: string): string | undefined {
  for (let at = dir; path.dirname(at) !== at; ) {
    at = path.dirname(at);
    if (!fs.existsSync(path.join(at, 'package.json'))) continue;
    if (readManifest(at)?.workspaces !== undefined || fs.existsSync(path.join(at, 'pnpm-workspace.yaml'))) return at;
  }
  return undefined;
}

function readManifest(dir: string): Manifest | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

/** Whether the copy of the hook's package that Node finds from `dir` holds its file, in a version it supports. */
function installedFor(dir: string, hook: EsModuleHook): boolean {
  for (let at = dir; ; at = path.dirname(at)) {
    const packageDir = path.join(at, 'node_modules', hook.module);
    if (fs.existsSync(path.join(packageDir, 'package.json'))) {
      return fs.existsSync(path.join(packageDir, hook.file)) && inRange(hook, packageDir);
    }
    if (path.dirname(at) === at) return false;
  }
}
