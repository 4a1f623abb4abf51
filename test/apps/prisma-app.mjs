// A Prisma app over two related models (test/apps/prisma7/schema.prisma), for whichever Prisma
// Client the caller hands it: each Prisma major, from either generator (see prisma6/ and prisma7/).
// It uses @prisma/adapter-pg against DATABASE_URL. Every route answers JSON that shows the types
// Prisma handed the app (Date, Decimal, BigInt, bytes, Json) and the class and code of its errors.
import { serveJsonRoutes } from './json-routes.mjs';

export function start({ PrismaClient, Prisma, PrismaPg }) {
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL }) });

  /** A value with its type, so the response shows replay hands back the same types. */
  const typed = (value) => {
    if (value instanceof Prisma.Decimal) return { type: 'Decimal', value: value.toFixed(2) };
    if (value instanceof Date) return { type: 'Date', value: value.toISOString() };
    if (typeof value === 'bigint') return { type: 'bigint', value: String(value) };
    if (value instanceof Uint8Array) return { type: value.constructor.name, value: Buffer.from(value).toString('base64') };
    if (Array.isArray(value)) return value.map(typed);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, typed(item)]));
    return value;
  };
  const failure = async (operation) => {
    try {
      return { value: typed(await operation) };
    } catch (error) {
      return {
        class: error.constructor.name,
        known: error instanceof Prisma.PrismaClientKnownRequestError,
        code: error.code,
        clientVersion: error.clientVersion,
        meta: error.meta && Object.keys(error.meta),
        modelName: error.meta?.modelName,
        adapterError: error.meta?.driverAdapterError && [
          error.meta.driverAdapterError instanceof Error,
          error.meta.driverAdapterError.cause?.kind,
        ],
        message: error.message.trim().split('\n').at(-1),
      };
    }
  };

  const ann = {
    email: 'ann@example.com',
    name: 'Ann',
    born: new Date('1990-05-17T00:00:00Z'),
    balance: new Prisma.Decimal('1234.56'),
    visits: 9007199254740993n,
    avatar: Buffer.from('Ann'),
    prefs: { theme: 'dark', tags: ['a', 'b'] },
  };

  serveJsonRoutes({
    '/create': async () =>
      typed(
        await prisma.user.create({
          data: { ...ann, posts: { create: [{ title: 'Earthsea' }, { title: 'Tehanu', published: true }] } },
          include: { posts: { orderBy: { id: 'asc' } } },
        }),
      ),
    '/duplicate': () => failure(prisma.user.create({ data: { email: ann.email } })),
    '/read': async () => ({
      unique: typed(
        await prisma.user.findUnique({
          where: { email: ann.email },
          select: { name: true, balance: true, visits: true, posts: { where: { published: true }, select: { title: true } } },
        }),
      ),
      many: typed(await prisma.post.findMany({ orderBy: { title: 'desc' }, include: { author: { select: { email: true } } } })),
    }),
    '/update': async () => ({
      updated: typed(
        await prisma.user.update({
          where: { email: ann.email },
          data: { visits: { increment: 1 }, balance: new Prisma.Decimal('0.44') },
          select: { visits: true, balance: true },
        }),
      ),
      upsertCreated: typed(
        await prisma.user.upsert({
          where: { email: 'bob@example.com' },
          create: { email: 'bob@example.com', name: 'Bob' },
          update: { name: 'Bobby' },
          select: { name: true },
        }),
      ),
      upsertUpdated: typed(
        await prisma.user.upsert({
          where: { email: 'bob@example.com' },
          create: { email: 'bob@example.com', name: 'Bob' },
          update: { name: 'Bobby' },
          select: { name: true },
        }),
      ),
    }),
    '/transaction/array': async () =>
      typed(
        await prisma.$transaction([
          prisma.user.count(),
          prisma.post.updateMany({ where: { published: false }, data: { published: true } }),
          prisma.post.count({ where: { published: true } }),
        ]),
      ),
    '/transaction/interactive': async () =>
      typed(
        await prisma.$transaction(async (tx) => {
          const bob = await tx.user.findUniqueOrThrow({ where: { email: 'bob@example.com' } });
          await tx.post.create({ data: { title: 'Bob writes', authorId: bob.id } });
          return tx.user.findUnique({ where: { id: bob.id }, include: { posts: true } });
        }),
      ),
    '/raw': async () => ({
      rows: typed(await prisma.$queryRaw`SELECT email, visits, balance FROM "User" WHERE visits > ${0} ORDER BY email`),
      changed: await prisma.$executeRaw`UPDATE "Post" SET title = upper(title) WHERE title = ${'Tehanu'}`,
    }),
    '/missing': () => failure(prisma.user.findUniqueOrThrow({ where: { email: 'nobody@example.com' } })),
    '/delete': async () => ({
      posts: (await prisma.post.deleteMany({ where: { author: { email: 'bob@example.com' } } })).count,
      user: typed(await prisma.user.delete({ where: { email: 'bob@example.com' }, select: { email: true } })),
    }),
    '/disconnect': async () => {
      await prisma.$disconnect();
      return { disconnected: true };
    },
  });
}
