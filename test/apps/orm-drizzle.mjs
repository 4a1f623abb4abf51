// An ESM app on Drizzle's node-postgres driver: the select builder (rowMode 'array' and Drizzle's
// own type parsers), a named prepared statement, insert/update returning, a transaction on a
// pooled client, and the relational query API (a join built into one statement).
import { asc, desc, eq, relations, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { integer, jsonb, pgTable, serial, text, timestamp } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { serve } from './orm-server.cjs';

const authors = pgTable('authors', {
  id: serial('id').primaryKey(),
  name: text('name').notNull(),
  email: text('email').notNull().unique(),
});
const posts = pgTable('posts', {
  id: serial('id').primaryKey(),
  authorId: integer('author_id')
    .notNull()
    .references(() => authors.id),
  title: text('title').notNull(),
  publishedAt: timestamp('published_at', { withTimezone: true, mode: 'date' }).notNull(),
  meta: jsonb('meta').notNull(),
  views: integer('views').notNull().default(0),
});
const authorsRelations = relations(authors, ({ many }) => ({ posts: many(posts) }));
const postsRelations = relations(posts, ({ one }) => ({ author: one(authors, { fields: [posts.authorId], references: [authors.id] }) }));

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
const db = drizzle({ client: pool, schema: { authors, posts, authorsRelations, postsRelations } });

const postById = db
  .select()
  .from(posts)
  .where(eq(posts.id, sql.placeholder('id')))
  .prepare('post_by_id');

serve({
  listPosts: ({ authorId, limit }) =>
    db.select().from(posts).where(eq(posts.authorId, authorId)).orderBy(desc(posts.publishedAt)).limit(limit),
  getPost: async (id) => (await postById.execute({ id }))[0],
  async createPost(fields) {
    const [post] = await db.insert(posts).values(fields).returning();
    return post;
  },
  async updatePost(id, { title }) {
    const [post] = await db
      .update(posts)
      .set({ title, views: sql`${posts.views} + 1` })
      .where(eq(posts.id, id))
      .returning();
    return post;
  },
  createAuthorWithPost: (fields, postFields) =>
    db.transaction(async (tx) => {
      const [author] = await tx.insert(authors).values(fields).returning();
      const [post] = await tx
        .insert(posts)
        .values({ ...postFields, authorId: author.id })
        .returning();
      return { author, post };
    }),
  getAuthorWithPosts: (id) => db.query.authors.findFirst({ where: eq(authors.id, id), with: { posts: { orderBy: [asc(posts.id)] } } }),
  uniqueViolationCode: (error) => (error.cause?.code === '23505' ? error.cause.code : undefined),
});
