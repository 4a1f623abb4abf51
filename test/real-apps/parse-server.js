// Parse Server (https://github.com/parse-community/parse-server) on PostgreSQL, through pg-promise
// over pg, started from its own command line. At start-up it checks and creates its schema tables;
// it makes object ids and session tokens from crypto.randomBytes, timestamps from new Date(), and
// hashes passwords with @node-rs/bcrypt, whose salts Rust draws.
import path from 'node:path';

const APP_ID = 'timetracer-proof';
const MASTER_KEY = 'master-key-for-the-proof-only';

export default {
  name: 'parse-server',
  version: '9.10.0',
  packages: ['parse-server@9.10.0'],
  command: ({ dir, port, databaseUrl }) => [
    path.join(dir, 'node_modules', 'parse-server', 'bin', 'parse-server'),
    '--appId',
    APP_ID,
    '--masterKey',
    MASTER_KEY,
    '--databaseURI',
    databaseUrl,
    '--port',
    String(port),
    '--mountPath',
    '/parse',
    '--serverURL',
    `http://localhost:${port}/parse`,
  ],
  // Its log files go into its own folder, not the directory it is started from.
  env: ({ dir }) => ({ PARSE_SERVER_LOGS_FOLDER: path.join(dir, 'logs'), VERBOSE: '' }),
  ready: /parse-server running on /,
  volatile: [
    {
      field: 'sessionToken',
      why: 'a secret: the random bytes it is made from are left out of the cassette, so replay makes a new one (a suite sends that one on)',
    },
  ],
  async session(client) {
    const app = { 'x-parse-application-id': APP_ID };
    const master = { ...app, 'x-parse-master-key': MASTER_KEY };
    const as = (token) => ({ ...app, 'x-parse-session-token': token });
    const send = (label, method, urlPath, headers, body) => client.send(label, { method, path: `/parse${urlPath}`, headers, body });

    await send('health', 'GET', '/health', app);
    await send('create class Project (master key)', 'POST', '/schemas/Project', master, {
      className: 'Project',
      fields: { name: { type: 'String' } },
    });
    await send('create class Todo (master key)', 'POST', '/schemas/Todo', master, {
      className: 'Todo',
      fields: {
        title: { type: 'String' },
        priority: { type: 'Number' },
        done: { type: 'Boolean' },
        reminders: { type: 'Number' },
        project: { type: 'Pointer', targetClass: 'Project' },
      },
    });
    const ann = await send('sign up ann', 'POST', '/users', app, { username: 'ann', password: 'pw-ann-1', email: 'ann@example.com' });
    const bob = await send('sign up bob', 'POST', '/users', app, { username: 'bob', password: 'pw-bob-1', email: 'bob@example.com' });
    await send('sign up ann again (taken)', 'POST', '/users', app, { username: 'ann', password: 'other', email: 'ann2@example.com' });
    const login = await send('log in ann', 'GET', `/login?${new URLSearchParams({ username: 'ann', password: 'pw-ann-1' })}`, app);
    await send('log in with a wrong password', 'GET', `/login?${new URLSearchParams({ username: 'ann', password: 'nope' })}`, app);
    await send('me (ann)', 'GET', '/users/me', as(login.sessionToken));

    const project = await send('create a project', 'POST', '/classes/Project', as(ann.sessionToken), {
      name: 'Launch',
      ACL: { [ann.objectId]: { read: true, write: true } },
    });
    const todos = [];
    for (const [title, priority] of [
      ['Book venue', 2],
      ['Send invites', 1],
      ['Order cake', 3],
      ['Brief the team', 1],
      ['Buy balloons', 3],
    ]) {
      todos.push(
        await send(`create todo "${title}"`, 'POST', '/classes/Todo', as(ann.sessionToken), {
          title,
          priority,
          done: false,
          project: { __type: 'Pointer', className: 'Project', objectId: project.objectId },
          ACL: { [ann.objectId]: { read: true, write: true } },
        }),
      );
    }
    await send('list todos', 'GET', '/classes/Todo?order=createdAt', as(ann.sessionToken));
    await send(
      'todos not done, most urgent first',
      'GET',
      `/classes/Todo?${new URLSearchParams({ where: JSON.stringify({ done: false }), order: 'priority,createdAt' })}`,
      as(ann.sessionToken),
    );
    await send('one todo', 'GET', `/classes/Todo/${todos[0].objectId}`, as(ann.sessionToken));
    for (const todo of todos.slice(0, 3))
      await send(`mark "${todo.objectId}" done`, 'PUT', `/classes/Todo/${todo.objectId}`, as(ann.sessionToken), { done: true });
    await send('count todos', 'GET', `/classes/Todo?${new URLSearchParams({ count: '1', limit: '0' })}`, as(ann.sessionToken));
    await send('bump a counter', 'PUT', `/classes/Todo/${todos[1].objectId}`, as(ann.sessionToken), {
      reminders: { __op: 'Increment', amount: 2 },
    });
    await send('delete a todo', 'DELETE', `/classes/Todo/${todos[4].objectId}`, as(ann.sessionToken));
    await send('the deleted todo (not found)', 'GET', `/classes/Todo/${todos[4].objectId}`, as(ann.sessionToken));
    await send(
      'todos with their project',
      'GET',
      `/classes/Todo?${new URLSearchParams({ include: 'project', order: 'createdAt' })}`,
      as(ann.sessionToken),
    );
    await send("bob cannot see ann's todos", 'GET', '/classes/Todo', as(bob.sessionToken));
    await send(
      'batch: two todos for bob (Parse Server 9.10.0 answers 500, with or without the agent)',
      'POST',
      '/batch',
      as(bob.sessionToken),
      {
        requests: [
          { method: 'POST', path: '/parse/classes/Todo', body: { title: 'Bob one', priority: 2, done: false } },
          { method: 'POST', path: '/parse/classes/Todo', body: { title: 'Bob two', priority: 1, done: true } },
        ],
      },
    );
    await send('a field of the wrong type', 'POST', '/classes/Todo', as(ann.sessionToken), { title: 'Bad', priority: 'high' });
    await send(
      'titles starting with B',
      'GET',
      `/classes/Todo?${new URLSearchParams({ where: JSON.stringify({ title: { $regex: '^B' } }), order: 'title' })}`,
      as(ann.sessionToken),
    );
    await send('schema (master key)', 'GET', '/schemas/Todo', master);
    await send('every user (master key)', 'GET', '/classes/_User?order=username', master);
    await send('a cloud function that does not exist', 'POST', '/functions/hello', as(ann.sessionToken), {});
    await send('log out ann', 'POST', '/logout', as(login.sessionToken));
    await send('me with the ended session', 'GET', '/users/me', as(login.sessionToken));
    await send('me (bob)', 'GET', '/users/me', as(bob.sessionToken));
    await send('server info (master key)', 'GET', '/serverInfo', master);
  },
};
