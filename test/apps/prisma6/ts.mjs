// test/apps/prisma-app.mjs on Prisma 6's prisma-client client (ES modules, generated into
// generated/ts and compiled to generated/js by test/prisma.test.js).
import { PrismaPg } from '@prisma/adapter-pg';
import { start } from '../prisma-app.mjs';
import { Prisma, PrismaClient } from './generated/js/client.js';

start({ PrismaClient, Prisma, PrismaPg });
