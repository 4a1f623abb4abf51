// test/apps/prisma-library-engine.cjs on Prisma 6's classic engine with a prisma-client client
// compiled to ES modules, which imports the engine's ES build (runtime/library.mjs): PRISMA_CLIENT
// names the directory of the compiled client (test/prisma-library-engine.test.js makes it).
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';

const { start } = createRequire(import.meta.url)('../prisma-library-engine.cjs');

start(await import(pathToFileURL(path.join(process.env.PRISMA_CLIENT, 'client.js')).href), PrismaPg);
