/**
 * NestJS 12, on its Express or its Fastify adapter: the framework, and the error a route's handler
 * (or one of its guards, pipes or interceptors) raised. Nest catches that error in its exceptions
 * handler and answers with a 500 (or the HttpException's status), so the adapter never sees it.
 * The route template is the adapter's (the express and fastify plugins note it): Nest hands it
 * each route's full path.
 *
 * `RouterExecutionContext#create` makes, once per route, the function that runs the route for
 * each request: that function is wrapped. Nest 12 ships ES modules only, which the loader does
 * not see; the file is reached through Node's module hooks (es-module-hooks.ts), registered at
 * start-up only when the app depends on @nestjs/core, so that other apps pay nothing for them.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineInstrumentation, describeError, hook, type InstrumentationContext, wrapMethod } from '../../src/plugin.js';
import { LOADED, type LoadResult, type NextLoad, type TapData, withTap } from './es-module-hooks.js';

const FRAMEWORK = 'nestjs';
const CORE = '@nestjs/core';
const VERSIONS = '>=12 <13';
const EXECUTION_CONTEXT_FILE = 'router/router-execution-context.js';

/** The part of `node:module` used here: `registerHooks` from Node 22.15, `register` before. */
interface ModuleHooksApi {
  registerHooks?(hooks: { load(url: string, context: object, nextLoad: NextLoad): LoadResult }): unknown;
  register(specifier: URL, options: { data: TapData }): void;
}

type Satisfies = (version: string, range: string, options: { includePrerelease: boolean }) => boolean;

/** Runs one route for one request (Express: req, res, next; Fastify: request, reply). */
type RouteRunner = (this: unknown, req: unknown, res: unknown, next: unknown) => unknown;

interface ExecutionContextClass {
  prototype: { create(this: unknown, ...args: unknown[]): unknown };
}

export default defineInstrumentation({
  name: 'nestjs',
  role: 'framework',
  hooks: [hook<ModuleHooksApi>({ module: 'node:module', patch: tapExecutionContext })],
});

function tapExecutionContext(nodeModule: ModuleHooksApi, ctx: InstrumentationContext): void {
  if (!appDependsOnNest()) return;
  (globalThis as Record<symbol, unknown>)[Symbol.for(LOADED)] = (url: string, namespace: { RouterExecutionContext?: unknown }) =>
    onLoaded(url, namespace, ctx);
  const suffixes = [`/node_modules/${CORE}/${EXECUTION_CONTEXT_FILE}`];
  if (nodeModule.registerHooks) {
    nodeModule.registerHooks({ load: (url, context, nextLoad) => withTap(nextLoad(url, context) as LoadResult, url, suffixes) });
  } else {
    nodeModule.register(new URL('./es-module-hooks.js', import.meta.url), { data: { suffixes } });
  }
}

/**
 * Whether the app depends on @nestjs/core: the dependencies of the package.json nearest its main
 * script, or the working directory's (a process manager's script may start it). Being installed
 * is not enough: a repository holding Nest among its development tools runs other apps too.
 */
function appDependsOnNest(): boolean {
  const from = process.argv[1] ? [path.dirname(path.resolve(process.argv[1])), process.cwd()] : [process.cwd()];
  return from.some((dir) => {
    const manifest = nearestPackageJson(dir);
    return manifest !== undefined && Object.hasOwn(manifest.dependencies ?? {}, CORE);
  });
}

interface PackageJson {
  version?: unknown;
  dependencies?: Record<string, unknown>;
}

function nearestPackageJson(dir: string): PackageJson | undefined {
  for (let at = dir; ; at = path.dirname(at)) {
    const file = path.join(at, 'package.json');
    if (fs.existsSync(file)) return readPackageJson(file);
    if (path.dirname(at) === at) return undefined;
  }
}

function readPackageJson(file: string): PackageJson | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as PackageJson;
  } catch {
    return undefined;
  }
}

/** Called by the tapped file as it finishes running: a fault here must not fail the app's import. */
function onLoaded(url: string, namespace: { RouterExecutionContext?: unknown }, ctx: InstrumentationContext): void {
  try {
    const coreDir = path.dirname(path.dirname(fileURLToPath(url)));
    const version = readPackageJson(path.join(coreDir, 'package.json'))?.version;
    // semver costs every app's start-up a few milliseconds: loaded only once Nest is.
    const satisfies = createRequire(import.meta.url)('semver/functions/satisfies') as Satisfies;
    if (typeof version !== 'string' || !satisfies(version, VERSIONS, { includePrerelease: true })) {
      ctx.notAttached(`${CORE} ${String(version)} at ${coreDir} is not a version it supports (${VERSIONS})`);
      return;
    }
    wrapCreate(namespace.RouterExecutionContext as ExecutionContextClass, ctx);
  } catch (error) {
    ctx.notAttached(`could not patch ${CORE}/${EXECUTION_CONTEXT_FILE} (${describeError(error)})`);
  }
}

function wrapCreate(RouterExecutionContext: ExecutionContextClass, ctx: InstrumentationContext): void {
  wrapMethod(
    RouterExecutionContext.prototype,
    'create',
    (create) =>
      function createNoted(this: unknown, ...args: unknown[]) {
        const runRoute = create.apply(this, args);
        return typeof runRoute === 'function' ? noted(runRoute as RouteRunner, ctx) : runRoute;
      },
  );
}

const ROUTED = { framework: FRAMEWORK };

/** Nest's runner is an async function: its rejection is the route's error, before Nest answers it. */
function noted(runRoute: RouteRunner, ctx: InstrumentationContext): RouteRunner {
  const noteError = (error: unknown): void => ctx.annotate({ framework: FRAMEWORK, error });
  return function runRouteNoted(this: unknown, req: unknown, res: unknown, next: unknown) {
    ctx.annotate(ROUTED);
    const done = runRoute.call(this, req, res, next);
    if (done instanceof Promise) done.catch(noteError);
    return done;
  };
}
