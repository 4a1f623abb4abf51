// graphql-js served by graphql-http on node:http: a query whose resolver calls the upstream, and
// one whose resolver throws (answered 200 with an `errors` entry).
const http = require('node:http');
const { buildSchema } = require('graphql');
const { createHandler } = require('graphql-http/lib/use/http');
const { fetchJson, listening } = require('./probe.cjs');

const schema = buildSchema(`
  type User {
    login: String!
    followers: Int!
  }
  type Query {
    user(name: String!): User
    crash: String
  }
`);
const rootValue = {
  user: ({ name }) => fetchJson(`/users/${name}`),
  crash: () => {
    throw new Error('graphql resolver failed');
  },
};

const server = http.createServer(createHandler({ schema, rootValue }));
server.listen(0, '127.0.0.1', () => listening(server));
