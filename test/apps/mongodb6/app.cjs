// test/apps/mongodb-app.cjs on MongoDB driver 6 and Mongoose 8 (this workspace's own node_modules).
require('../mongodb-app.cjs')({ mongodb: require('mongodb'), mongoose: require('mongoose') });
