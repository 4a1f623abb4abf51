// An Express app on MongoDB, for whichever driver and Mongoose the caller hands it (see
// mongodb6/ and mongodb7.mjs): CRUD through the driver with ObjectIds, dates, Decimal128, Long
// and Binary, cursors, aggregation, bulk writes, a transaction and a duplicate-key error, then the
// same kinds of work through Mongoose (models, populate, a unique index). MONGO_URL and MONGO_DB
// (each test its own database) come from the environment.
const express = require('express');

module.exports = async function start({ mongodb, mongoose }) {
  const { MongoClient, ObjectId, Decimal128, Long, Binary, MongoServerError } = mongodb;
  const client = new MongoClient(process.env.MONGO_URL);
  await client.connect();
  const db = client.db(process.env.MONGO_DB);
  const users = db.collection('users');
  const accounts = db.collection('accounts');
  // At start-up, outside any request, as apps do.
  await users.createIndex({ email: 1 }, { unique: true });

  await mongoose.connect(process.env.MONGO_URL, { dbName: process.env.MONGO_DB });
  const Author = mongoose.model('Author', new mongoose.Schema({ name: { type: String, unique: true }, born: Date }));
  const Post = mongoose.model(
    'Post',
    new mongoose.Schema({ title: String, likes: Number, author: { type: mongoose.Schema.Types.ObjectId, ref: 'Author' } }),
  );
  await Author.init();

  /** A value with its BSON type, so the response shows replay hands back the same types. */
  const typed = (value) => ({
    type: value?._bsontype ?? value?.constructor?.name ?? typeof value,
    value: value instanceof Binary ? value.toString('base64') : String(value),
  });
  const describeUser = (user) =>
    user && Object.fromEntries(Object.entries(user).map(([key, value]) => [key, typeof value === 'string' ? value : typed(value)]));
  const errorJson = (error) => ({
    class: error.constructor.name,
    code: error.code,
    codeName: error.codeName,
    message: error.message,
    isServerError: error instanceof MongoServerError,
  });

  const app = express();
  app.use(express.json());

  app.post('/users', async (req, res) => {
    const { name, email, born, balance } = req.body;
    try {
      const { insertedId } = await users.insertOne({
        name,
        email,
        born: new Date(born),
        balance: Decimal128.fromString(balance),
        visits: Long.fromNumber(0),
        avatar: new Binary(Buffer.from(name)),
      });
      res
        .status(201)
        .json({ id: insertedId.toHexString(), idType: typed(insertedId).type, createdAt: insertedId.getTimestamp().toISOString() });
    } catch (error) {
      res.status(409).json(errorJson(error));
    }
  });

  app.get('/users/:id', async (req, res) => {
    // Longs as Longs, not as numbers.
    res.json(describeUser(await users.findOne({ _id: new ObjectId(req.params.id) }, { promoteLongs: false })));
  });

  app.patch('/users/:id', async (req, res) => {
    const _id = new ObjectId(req.params.id);
    const updated = await users.updateOne({ _id }, { $set: { name: req.body.name }, $inc: { visits: 1 } });
    const after = await users.findOneAndUpdate(
      { _id },
      { $inc: { visits: 1 } },
      { returnDocument: 'after', projection: { name: 1, visits: 1 } },
    );
    res.json({ matched: updated.matchedCount, modified: updated.modifiedCount, after: describeUser(after) });
  });

  app.get('/unreachable', async (req, res) => {
    try {
      res.json(await users.findOne({ name: 'hang-up' }));
    } catch (error) {
      res.status(503).json(errorJson(error));
    }
  });

  app.get('/users', async (req, res) => {
    const sorted = await users
      .find({ email: { $exists: true } })
      .sort({ name: 1 })
      .project({ _id: 0, name: 1 })
      .limit(3)
      .toArray();
    const inBatches = [];
    for await (const user of users.find({}, { batchSize: 2, projection: { _id: 0, email: 1 } }).sort({ email: -1 }))
      inBatches.push(user.email);
    res.json({ sorted, inBatches });
  });

  app.get('/stats', async (req, res) => {
    res.json({
      count: await users.countDocuments({ visits: { $gte: 0 } }),
      estimated: await users.estimatedDocumentCount(),
      emails: (await users.distinct('email')).sort(),
      byDomain: await users
        .aggregate([
          { $match: { email: { $regex: '@' } } },
          { $group: { _id: null, n: { $sum: 1 }, names: { $push: '$name' } } },
          { $project: { _id: 0 } },
        ])
        .toArray(),
      ping: await db.command({ ping: 1 }),
    });
  });

  app.post('/bulk', async (req, res) => {
    const many = await accounts.insertMany([
      { owner: 'ann', amount: 100 },
      { owner: 'bob', amount: 50 },
      { owner: 'cy', amount: 10 },
    ]);
    const bulk = await accounts.bulkWrite([
      { insertOne: { document: { owner: 'dee', amount: 5 } } },
      { updateOne: { filter: { owner: 'cy' }, update: { $inc: { amount: 1 } } } },
      { deleteOne: { filter: { owner: 'dee' } } },
    ]);
    const updatedMany = await accounts.updateMany({ amount: { $lt: 60 } }, { $set: { small: true } });
    const replaced = await accounts.replaceOne({ owner: 'bob' }, { owner: 'bob', amount: 55 });
    const deleted = await accounts.findOneAndDelete({ owner: 'cy' });
    const removed = await accounts.deleteMany({ small: true });
    res.json({
      inserted: Object.values(many.insertedIds).map((id) => id.toHexString()),
      bulk: { inserted: bulk.insertedCount, matched: bulk.matchedCount, deleted: bulk.deletedCount },
      updatedMany: updatedMany.modifiedCount,
      replaced: replaced.modifiedCount,
      deleted: deleted?.owner,
      removed: removed.deletedCount,
    });
  });

  app.post('/transfer', async (req, res) => {
    const session = client.startSession();
    try {
      await session.withTransaction(async () => {
        await accounts.updateOne({ owner: 'ann' }, { $inc: { amount: -10 } }, { session });
        await accounts.updateOne({ owner: 'ann' }, { $set: { note: 'paid' } }, { session });
      });
    } finally {
      await session.endSession();
    }
    res.json(await accounts.findOne({ owner: 'ann' }, { projection: { _id: 0 } }));
  });

  app.post('/authors', async (req, res) => {
    try {
      const author = await Author.create({ name: req.body.name, born: new Date(req.body.born) });
      res.status(201).json({ id: author.id, born: author.born.toISOString() });
    } catch (error) {
      res.status(409).json(errorJson(error));
    }
  });

  app.post('/posts', async (req, res) => {
    const post = await new Post({ title: req.body.title, likes: 0, author: req.body.author }).save();
    await Post.updateOne({ _id: post._id }, { $inc: { likes: 2 } });
    res.status(201).json({ id: post.id });
  });

  app.get('/posts', async (req, res) => {
    const posts = await Post.find().sort({ title: 1 }).populate('author');
    const first = await Post.findById(posts[0]._id).lean();
    res.json({
      posts: posts.map((p) => ({ title: p.title, likes: p.likes, author: p.author.name, authorIsDocument: p.author instanceof Author })),
      first: { title: first.title, idIsObjectId: first._id instanceof mongoose.Types.ObjectId },
      count: await Post.countDocuments(),
    });
  });

  app.delete('/posts/:id', async (req, res) => {
    const { deletedCount } = await Post.deleteOne({ _id: req.params.id });
    res.json({ deletedCount, left: await Post.countDocuments() });
  });

  app.use((error, req, res, next) => {
    res.status(500).json(errorJson(error));
  });

  app.post('/shutdown', async (req, res) => {
    await mongoose.disconnect();
    await client.close();
    res.json({ closed: true });
  });

  const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
};
