// GraphQL Yoga on node:http, as an ES module app; its resolvers call the upstream through global
// fetch. `crash` is a resolver that throws: Yoga answers 200 with a masked error.
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';
import { viaFetch } from './framework-upstream.cjs';

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type User {
      login: String!
      followers: Int!
    }
    type Item {
      name: String!
      qty: Int!
    }
    type Stored {
      id: Int!
      stored: Item!
    }
    type Query {
      user(name: String!): User
      crash: String
    }
    type Mutation {
      addItem(name: String!, qty: Int!): Stored
    }
  `,
  resolvers: {
    Query: {
      user: (_parent, { name }) => viaFetch('GET', `/users/${name}`),
      crash: () => {
        throw new Error('graphql resolver failed');
      },
    },
    Mutation: {
      addItem: (_parent, item) => viaFetch('POST', '/items', item),
    },
  },
});

const server = createServer(createYoga({ schema, logging: false }));
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
