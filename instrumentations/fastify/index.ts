/**
 * Fastify 5: the route template and the error a handler raised, from the diagnostics channel
 * Fastify publishes around each route handler. Its messages are published inside the request,
 * so they land in the request's session. Loading lib/handle-request.js (which publishes them)
 * is the sign that Fastify is in use.
 */
import diagnostics from 'node:diagnostics_channel';
import { defineInstrumentation, hook, type InstrumentationContext } from '../../src/plugin.js';

const FRAMEWORK = 'fastify';
const HANDLER_CHANNEL = 'fastify.request.handler';

interface HandlerMessage {
  route?: { url?: unknown };
  error?: unknown;
}

let subscribed = false;

export default defineInstrumentation({
  name: 'fastify',
  role: 'framework',
  hooks: [hook<object>({ module: 'fastify', versions: '>=5 <6', file: 'lib/handle-request.js', patch: (_exports, ctx) => subscribe(ctx) })],
});

/** Once per process: the channel is global, whatever number of Fastify copies publish on it. */
function subscribe(ctx: InstrumentationContext): void {
  if (subscribed) return;
  subscribed = true;
  const channel = diagnostics.tracingChannel(HANDLER_CHANNEL);
  // A subscriber that threw would crash the app (Node rethrows it on the next tick): these cannot.
  channel.start.subscribe((message) => {
    const url = (message as HandlerMessage | undefined)?.route?.url;
    ctx.annotate({ framework: FRAMEWORK, ...(typeof url === 'string' && { route: () => url }) });
  });
  channel.error.subscribe((message) => {
    ctx.annotate({ framework: FRAMEWORK, error: (message as HandlerMessage | undefined)?.error });
  });
}
