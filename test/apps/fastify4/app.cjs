// Fastify 4, CommonJS, calling its upstream through node:http; JSON bodies parsed by Fastify. The
// user routes also live in a plugin registered under a prefix.
const Fastify = require('fastify');
const { viaHttp } = require('../framework-upstream.cjs');

async function users(scope) {
  scope.get('/user/:name', async (request) => viaHttp('GET', `/users/${request.params.name}`));
}

const app = Fastify();
app.register(users);
app.register(users, { prefix: '/v1' });
app.post('/items', async (request, reply) => {
  reply.code(201);
  return viaHttp('POST', '/items', request.body);
});
app.get('/crash', async () => {
  throw new Error('fastify 4 handler rejected');
});

app.listen({ port: 0, host: '127.0.0.1' }).then(() => console.log(`listening ${app.server.address().port}`));
