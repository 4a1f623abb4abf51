/**
 * NestJS 12, on its Express or its Fastify adapter: the framework, and the error a route's handler
 * (or one of its guards, pipes or interceptors) raised. Nest catches that error in its exceptions
 * handler and answers with a 500 (or the HttpException's status), so the adapter never sees it.
 * The route template is the adapter's (the express and fastify plugins note it): Nest hands it
 * each route's full path.
 *
 * `RouterExecutionContext#create` makes, once per route, the function that runs the route for
 * each request: that function is wrapped. Nest 12 ships ES modules only, so the file is hooked as
 * one (the loader reaches it only in apps that depend on @nestjs/core).
 */
import { defineInstrumentation, hook, type InstrumentationContext, wrapMethod } from '../../src/plugin.js';

const FRAMEWORK = 'nestjs';

/** Runs one route for one request (Express: req, res, next; Fastify: request, reply). */
type RouteRunner = (this: unknown, req: unknown, res: unknown, next: unknown) => unknown;

interface ExecutionContextClass {
  prototype: { create(this: unknown, ...args: unknown[]): unknown };
}

export default defineInstrumentation({
  name: 'nestjs',
  role: 'framework',
  hooks: [
    hook<{ RouterExecutionContext: ExecutionContextClass }>({
      module: '@nestjs/core',
      versions: '>=12 <13',
      file: 'router/router-execution-context.js',
      esModule: true,
      patch: ({ RouterExecutionContext }, ctx) => wrapCreate(RouterExecutionContext, ctx),
    }),
  ],
});

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
