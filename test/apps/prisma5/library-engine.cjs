// test/apps/prisma-library-engine.cjs on Prisma 5, whose @prisma/adapter-pg takes a pg Pool.
const { start } = require('../prisma-library-engine.cjs');
const pg = require('pg');
const { PrismaPg } = require('@prisma/adapter-pg');

start(
  require(process.env.PRISMA_CLIENT),
  class extends PrismaPg {
    constructor({ connectionString }) {
      super(new pg.Pool({ connectionString }));
    }
  },
);
