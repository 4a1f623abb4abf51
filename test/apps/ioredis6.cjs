// test/apps/redis-app.cjs on ioredis 6 (the project's devDependency).
require('./redis-app.cjs')(require('ioredis'));
