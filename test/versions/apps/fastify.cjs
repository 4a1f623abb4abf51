// Fastify: a route calling the upstream, and one whose handler rejects.
const Fastify = require('fastify');
const { fetchJson, listening } = require('./probe.cjs');

const app = Fastify();
app.get('/user/:name', async (request) => fetchJson(`/users/${request.params.name}`));
app.get('/crash', async () => {
  throw new Error('fastify handler failed');
});

app.listen({ port: 0, host: '127.0.0.1' }).then(() => listening(app.server));
