// undici: the upstream's user, read with the package's `request`.
const { request } = require('undici');
const { serve, upstreamUrl } = require('./probe.cjs');

serve({ 'GET /users/ada': async () => (await request(upstreamUrl('/users/ada'))).body.json() });
