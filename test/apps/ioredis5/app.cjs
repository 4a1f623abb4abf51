// test/apps/ioredis-app.cjs on ioredis 5 (this workspace's own node_modules/ioredis).
require('../ioredis-app.cjs')(require('ioredis'));
