// The HTTP side every ORM app shares: Express 5 routes over a blog schema (authors, posts), the
// same answers whatever ORM the app runs on. Each app hands in its data access, written the way
// that ORM's users write it; this file never touches the database itself.
const express = require('express');

/** A post as the API answers it. `toISOString` throws unless the ORM handed back a real Date. */
function postJson({ id, authorId, title, publishedAt, meta, views }) {
  return { id, authorId, title, publishedAt: publishedAt.toISOString(), meta, views };
}

function authorJson({ id, name, email }) {
  return { id, name, email };
}

/**
 * Starts the server on port 0 and prints `listening <port>`. `store` is the app's data access:
 * listPosts({ authorId, limit }), getPost(id), createPost(fields), updatePost(id, fields),
 * createAuthorWithPost(author, post) in one transaction, getAuthorWithPosts(id) and
 * uniqueViolationCode(error): the SQLSTATE of a unique-constraint violation, else undefined.
 */
function serve(store) {
  const app = express();
  app.use(express.json());

  app.get('/posts', async (req, res) => {
    const posts = await store.listPosts({ authorId: Number(req.query.author), limit: Number(req.query.limit) });
    res.json(posts.map(postJson));
  });
  app.get('/posts/:id', async (req, res) => {
    const post = await store.getPost(Number(req.params.id));
    if (post) res.json(postJson(post));
    else res.status(404).json({ error: 'no such post' });
  });
  app.post('/posts', async (req, res) => {
    const { authorId, title, publishedAt, meta } = req.body;
    res.status(201).json(postJson(await store.createPost({ authorId, title, publishedAt: new Date(publishedAt), meta })));
  });
  app.patch('/posts/:id', async (req, res) => {
    res.json(postJson(await store.updatePost(Number(req.params.id), { title: req.body.title })));
  });
  app.post('/authors', async (req, res) => {
    const { name, email, firstPost } = req.body;
    try {
      const { author, post } = await store.createAuthorWithPost(
        { name, email },
        { title: firstPost.title, publishedAt: new Date(firstPost.publishedAt), meta: firstPost.meta },
      );
      res.status(201).json({ author: authorJson(author), post: postJson(post) });
    } catch (error) {
      const code = store.uniqueViolationCode(error);
      if (!code) throw error;
      res.status(409).json({ error: 'email taken', code });
    }
  });
  app.get('/authors/:id', async (req, res) => {
    const author = await store.getAuthorWithPosts(Number(req.params.id));
    res.json({ ...authorJson(author), posts: author.posts.map(postJson) });
  });
  app.use((error, _req, res, _next) => {
    res.status(500).json({ error: error.message, code: error.code });
  });

  const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
}

module.exports = { serve };
