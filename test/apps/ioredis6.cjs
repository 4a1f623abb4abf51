// test/apps/ioredis-app.cjs on ioredis 6 (the project's devDependency).
require('./ioredis-app.cjs')(require('ioredis'));
