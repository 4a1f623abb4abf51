// An app on node-redis (the `redis` package), which timetracer does not instrument. It connects on
// its first request and fails fast when Redis cannot be reached (no reconnecting). REDIS_URL says
// where Redis is.
import http from 'node:http';
import { createClient } from 'redis';

const client = createClient({ url: process.env.REDIS_URL, socket: { reconnectStrategy: false } });
client.on('error', () => {});

const server = http.createServer(async (req, res) => {
  try {
    if (!client.isOpen) await client.connect();
    res.end(JSON.stringify({ value: await client.get(`${process.env.KEY_PREFIX}:greeting`) }));
  } catch (error) {
    res.statusCode = 500;
    res.end(JSON.stringify({ error: error.message, code: error.code }));
  }
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
