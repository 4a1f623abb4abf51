// test/apps/prisma-library-engine.cjs on Prisma 6.
const { start } = require('../prisma-library-engine.cjs');
const { PrismaPg } = require('@prisma/adapter-pg');

start(require(process.env.PRISMA_CLIENT), PrismaPg);
