// A CommonJS app on knex (pg client): query builder, returning('*'), a transaction, a join.
const knexFactory = require('knex');
const { serve } = require('./orm-server.cjs');

const knex = knexFactory({ client: 'pg', connection: process.env.DATABASE_URL });

const POST_COLUMNS = ['id', 'author_id as authorId', 'title', 'published_at as publishedAt', 'meta', 'views'];

serve({
  listPosts: ({ authorId, limit }) =>
    knex('posts').select(POST_COLUMNS).where({ author_id: authorId }).orderBy('published_at', 'desc').limit(limit),
  getPost: (id) => knex('posts').select(POST_COLUMNS).where({ id }).first(),
  async createPost({ authorId, title, publishedAt, meta }) {
    const [post] = await knex('posts').insert({ author_id: authorId, title, published_at: publishedAt, meta }).returning(POST_COLUMNS);
    return post;
  },
  async updatePost(id, { title }) {
    const [post] = await knex('posts')
      .where({ id })
      .update({ title, views: knex.raw('views + 1') })
      .returning(POST_COLUMNS);
    return post;
  },
  createAuthorWithPost: (author, { title, publishedAt, meta }) =>
    knex.transaction(async (trx) => {
      const [created] = await trx('authors').insert(author).returning(['id', 'name', 'email']);
      const [post] = await trx('posts').insert({ author_id: created.id, title, published_at: publishedAt, meta }).returning(POST_COLUMNS);
      return { author: created, post };
    }),
  async getAuthorWithPosts(id) {
    const rows = await knex('authors')
      .join('posts', 'posts.author_id', 'authors.id')
      .where('authors.id', id)
      .orderBy('posts.id')
      .select('authors.name', 'authors.email', ...POST_COLUMNS.map((column) => `posts.${column}`));
    const [{ name, email }] = rows;
    return { id, name, email, posts: rows };
  },
  uniqueViolationCode: (error) => (error.code === '23505' ? error.code : undefined),
});
