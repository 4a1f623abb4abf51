// Fastify 5, CommonJS, calling its upstream through node:http; JSON bodies parsed by Fastify.
const Fastify = require('fastify');
const { viaHttp } = require('./framework-upstream.cjs');

const app = Fastify();
app.get('/user/:name', async (request) => viaHttp('GET', `/users/${request.params.name}`));
app.post('/items', async (request, reply) => {
  reply.code(201);
  return viaHttp('POST', '/items', request.body);
});
app.get('/crash', async () => {
  throw new Error('fastify handler rejected');
});

app.listen({ port: 0, host: '127.0.0.1' }).then(() => console.log(`listening ${app.server.address().port}`));
