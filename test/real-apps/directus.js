// Directus (https://github.com/directus/directus) on PostgreSQL through knex over pg, its tables
// made by its own migrations (`directus bootstrap`, which also adds the first admin) and checked
// again when it starts (`directus start`). It signs JWTs (jsonwebtoken), makes refresh tokens with
// nanoid, hashes passwords with argon2 (salted by JavaScript's randomBytes), and ids with uuid.
// Needs Node 22 or later.
import fs from 'node:fs';
import path from 'node:path';

const ADMIN = { email: 'admin@example.com', password: 'admin-password-for-the-proof' };

export default {
  name: 'directus',
  // 12.4.1 depends on @directus/app 18.0.1, which this machine's registry does not have.
  version: '12.4.0',
  packages: ['directus@12.4.0'],
  minimumNode: 22,
  command: ({ dir }) => [path.join(dir, 'node_modules', 'directus', 'cli.js'), 'start'],
  /** Its migrations and first admin, with its own command, once per fresh database. */
  prepare: ({ dir }) => [path.join(dir, 'node_modules', 'directus', 'cli.js'), 'bootstrap'],
  env: ({ dir, port, databaseUrl }) => {
    const uploads = path.join(dir, 'uploads');
    fs.mkdirSync(uploads, { recursive: true });
    return {
      DB_CLIENT: 'pg',
      DB_CONNECTION_STRING: databaseUrl,
      SECRET: 'secret-for-the-proof-only-0123456789',
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      TELEMETRY: 'false',
      STORAGE_LOCAL_ROOT: uploads,
      EXTENSIONS_PATH: path.join(dir, 'extensions'),
      LOG_LEVEL: 'info',
      LOG_STYLE: 'raw',
    };
  },
  ready: /Server started at /,
  volatile: [],
  async session(client) {
    const send = (label, method, urlPath, token, body) =>
      client.send(label, { method, path: urlPath, headers: token ? { authorization: `Bearer ${token}` } : {}, body });

    await send('ping', 'GET', '/server/ping');
    const login = await send('log in as admin', 'POST', '/auth/login', undefined, ADMIN);
    await send('log in with a wrong password', 'POST', '/auth/login', undefined, { email: ADMIN.email, password: 'nope' });
    const token = login.data.access_token;
    await send('me', 'GET', '/users/me?fields=email,first_name,status', token);
    await send('create collection "articles"', 'POST', '/collections', token, {
      collection: 'articles',
      schema: {},
      meta: { icon: 'article' },
      fields: [
        { field: 'id', type: 'integer', meta: { hidden: true }, schema: { is_primary_key: true, has_auto_increment: true } },
        { field: 'title', type: 'string', schema: { is_nullable: false } },
        { field: 'status', type: 'string', schema: { default_value: 'draft' } },
        { field: 'body', type: 'text' },
        { field: 'published_at', type: 'timestamp' },
      ],
    });
    await send('add a field "views"', 'POST', '/fields/articles', token, { field: 'views', type: 'integer', schema: { default_value: 0 } });
    const ids = [];
    for (const [title, status] of [
      ['Launch plan', 'published'],
      ['Budget', 'draft'],
      ['Launch party', 'published'],
      ['Hiring', 'draft'],
      ['Retro', 'draft'],
    ]) {
      const created = await send(`create article "${title}"`, 'POST', '/items/articles', token, {
        title,
        status,
        body: `${title}: the details.`,
      });
      ids.push(created.data.id);
    }
    await send('list articles', 'GET', '/items/articles?sort=id', token);
    await send(
      'published articles',
      'GET',
      `/items/articles?${new URLSearchParams({ 'filter[status][_eq]': 'published', sort: 'title' })}`,
      token,
    );
    await send('one article', 'GET', `/items/articles/${ids[0]}`, token);
    for (const id of ids.slice(1, 4))
      await send(`publish article ${id}`, 'PATCH', `/items/articles/${id}`, token, {
        status: 'published',
        published_at: '2026-12-01T09:00:00Z',
        views: id * 10,
      });
    await send(
      'count articles by status',
      'GET',
      `/items/articles?${new URLSearchParams({ 'aggregate[count]': '*', groupBy: 'status', sort: 'status' })}`,
      token,
    );
    await send('delete an article', 'DELETE', `/items/articles/${ids[4]}`, token);
    await send('the deleted article', 'GET', `/items/articles/${ids[4]}`, token);
    await send('an article without its required title', 'POST', '/items/articles', token, { status: 'draft' });
    await send('search articles', 'GET', `/items/articles?${new URLSearchParams({ search: 'launch', sort: 'id' })}`, token);
    const editor = await send('create a user', 'POST', '/users', token, {
      email: 'editor@example.com',
      password: 'editor-password-1',
      first_name: 'Edie',
      status: 'active',
    });
    await send('users', 'GET', '/users?fields=email,first_name&sort=email', token);
    await send('the new user logs in', 'POST', '/auth/login', undefined, { email: 'editor@example.com', password: 'editor-password-1' });
    await send('update the user', 'PATCH', `/users/${editor.data.id}`, token, { last_name: 'Tor' });
    const refreshed = await send("refresh the admin's tokens", 'POST', '/auth/refresh', undefined, {
      refresh_token: login.data.refresh_token,
      mode: 'json',
    });
    await send(
      'articles with the refreshed token',
      'GET',
      '/items/articles?fields=id,title,status,views&sort=id',
      refreshed.data.access_token,
    );
    await send('the collection', 'GET', '/collections/articles', token);
    await send('its fields', 'GET', '/fields/articles', token);
    await send('recent activity', 'GET', '/activity?fields=action,collection,item&sort=-id&limit=8', token);
    await send(
      'revisions of an article',
      'GET',
      `/revisions?${new URLSearchParams({ 'filter[collection][_eq]': 'articles', 'filter[item][_eq]': String(ids[1]), fields: 'data,delta', sort: 'id' })}`,
      token,
    );
    await send('articles without a token', 'GET', '/items/articles');
    await send('log out', 'POST', '/auth/logout', undefined, { refresh_token: refreshed.data.refresh_token });
    await send('refresh after logging out', 'POST', '/auth/refresh', undefined, {
      refresh_token: refreshed.data.refresh_token,
      mode: 'json',
    });
  },
};
