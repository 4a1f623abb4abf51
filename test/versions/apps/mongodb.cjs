// mongodb: a document inserted and found again by the id the driver gave it, on the server at
// MONGO_URL (connected at start-up, as apps do).
const { MongoClient } = require('mongodb');
const { serve } = require('./probe.cjs');

const client = new MongoClient(process.env.MONGO_URL);
const users = client.db(process.env.MONGO_DB).collection('users');

client.connect().then(() =>
  serve({
    'POST /users': async ({ name }) => {
      const { insertedId } = await users.insertOne({ name });
      const found = await users.findOne({ _id: insertedId });
      return { id: String(found._id), name: found.name };
    },
  }),
);
