// test/apps/prisma-app.mjs on the classic query engine of Prisma 5 or 6 (runtime/library.js),
// with the prisma-client-js client that PRISMA_CLIENT names ('@prisma/client' or the directory
// test/prisma-library-engine.test.js generated it to).
//
// PRISMA_ADAPTER=pg: the client queries through @prisma/adapter-pg, as one generated with
// PRISMA_CLIENT_FORCE_WASM must (its engine is Prisma's query engine compiled to WebAssembly).
// PRISMA_ADAPTER=none: as most apps on the classic engine, the client gets no adapter, and its
// engine loads its Node-API library (PRISMA_QUERY_ENGINE_LIBRARY) and connects to DATABASE_URL
// itself. Each native library Node loads is printed (`dlopen <file>` on stderr), so that a test
// sees whether the engine's was.
const dlopen = process.dlopen;
process.dlopen = function (module, filename, ...flags) {
  process.stderr.write(`dlopen ${filename}\n`);
  return dlopen.call(this, module, filename, ...flags);
};

/** Starts the app with the client module and the major's PrismaPg (taking `{ connectionString }`). */
exports.start = ({ PrismaClient, Prisma }, PrismaPg) => {
  const withAdapter = process.env.PRISMA_ADAPTER === 'pg';
  const Client = withAdapter
    ? PrismaClient
    : class extends PrismaClient {
        constructor({ adapter: _unused, ...options }) {
          super(options);
        }
      };
  import('./prisma-app.mjs').then(({ start }) => start({ PrismaClient: Client, Prisma, PrismaPg }));
};
