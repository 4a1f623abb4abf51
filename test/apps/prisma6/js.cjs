// test/apps/prisma-app.mjs on Prisma 6's prisma-client-js client (CommonJS, through @prisma/client).
const { PrismaClient, Prisma } = require('@prisma/client');
const { PrismaPg } = require('@prisma/adapter-pg');

import('../prisma-app.mjs').then(({ start }) => start({ PrismaClient, Prisma, PrismaPg }));
