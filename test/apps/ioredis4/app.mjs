// An app on ioredis 4, which timetracer does not instrument (it supports 5 and 6). It fails fast
// when Redis cannot be reached (no reconnecting, no offline queue), as a service behind a health
// check would. REDIS_URL says where Redis is.
import http from 'node:http';
import Redis from 'ioredis';

const redis = new Redis(process.env.REDIS_URL, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
redis.on('error', (error) => console.log(`redis error: ${error.code ?? error.message}`));

const server = http.createServer(async (req, res) => {
  try {
    res.end(JSON.stringify({ value: await redis.get(`${process.env.KEY_PREFIX}:greeting`) }));
  } catch (error) {
    res.statusCode = 500;
    res.end(JSON.stringify({ error: error.message }));
  }
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
