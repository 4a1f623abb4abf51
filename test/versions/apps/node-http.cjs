// Node's own clients: one user read with node:http, another with the global fetch.
const http = require('node:http');
const { once } = require('node:events');
const { fetchJson, serve, upstreamUrl } = require('./probe.cjs');

async function httpGetJson(url) {
  const [response] = await once(http.get(url), 'response');
  let text = '';
  for await (const chunk of response) text += chunk;
  return JSON.parse(text);
}

serve({ 'GET /users': async () => [await httpGetJson(upstreamUrl('/users/ada')), await fetchJson('/users/grace')] });
