// test/apps/mongodb-app.cjs on MongoDB driver 7 and Mongoose 9 (the project's devDependencies),
// imported as ES modules.
import * as mongodb from 'mongodb';
import mongoose from 'mongoose';
import start from './mongodb-app.cjs';

await start({ mongodb, mongoose });
