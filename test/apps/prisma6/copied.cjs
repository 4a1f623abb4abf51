// test/apps/prisma-app.mjs on Prisma 6's prisma-client-js client generated to an output of its own
// (generated/copied), which holds its own copy of Prisma's runtime.
const { PrismaClient, Prisma } = require('./generated/copied');
const { PrismaPg } = require('@prisma/adapter-pg');

import('../prisma-app.mjs').then(({ start }) => start({ PrismaClient, Prisma, PrismaPg }));
