// test/apps/redis-app.cjs on ioredis 5 (this workspace's own node_modules/ioredis).
require('../redis-app.cjs')(require('ioredis'));
