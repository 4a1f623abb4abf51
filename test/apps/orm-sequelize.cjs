// A CommonJS app on Sequelize 6: models with an association, findAll/findByPk/create/update, a
// managed transaction, an include (join), and UniqueConstraintError.
const { DataTypes, Sequelize, UniqueConstraintError } = require('sequelize');
const { serve } = require('./orm-server.cjs');

const sequelize = new Sequelize(process.env.DATABASE_URL, { logging: false });

const modelOptions = { sequelize, underscored: true, timestamps: false };
const Author = sequelize.define(
  'author',
  {
    name: { type: DataTypes.TEXT, allowNull: false },
    email: { type: DataTypes.TEXT, allowNull: false, unique: true },
  },
  modelOptions,
);
const Post = sequelize.define(
  'post',
  {
    title: { type: DataTypes.TEXT, allowNull: false },
    publishedAt: { type: DataTypes.DATE, allowNull: false },
    meta: { type: DataTypes.JSONB, allowNull: false },
    views: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
  },
  modelOptions,
);
Author.hasMany(Post, { foreignKey: 'authorId' });
Post.belongsTo(Author, { foreignKey: 'authorId' });

serve({
  listPosts: ({ authorId, limit }) => Post.findAll({ where: { authorId }, order: [['publishedAt', 'DESC']], limit }),
  getPost: (id) => Post.findByPk(id),
  createPost: (fields) => Post.create(fields),
  async updatePost(id, { title }) {
    const [, [post]] = await Post.update({ title, views: sequelize.literal('views + 1') }, { where: { id }, returning: true });
    return post;
  },
  createAuthorWithPost: (fields, postFields) =>
    sequelize.transaction(async (transaction) => {
      const author = await Author.create(fields, { transaction });
      const post = await Post.create({ ...postFields, authorId: author.id }, { transaction });
      return { author, post };
    }),
  getAuthorWithPosts: (id) => Author.findByPk(id, { include: Post, order: [[Post, 'id', 'ASC']] }),
  uniqueViolationCode: (error) => (error instanceof UniqueConstraintError ? error.parent.code : undefined),
});
