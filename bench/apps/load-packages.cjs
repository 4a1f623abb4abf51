// Loads a typical service's packages and prints the CPU milliseconds that took, then the CPU the
// whole process (every thread) has used since it started, then how many modules it loaded. With
// HOOK=registerHooks it first registers a module.registerHooks load hook that does nothing.
if (process.env.HOOK === 'registerHooks') {
  require('node:module').registerHooks({ load: (url, context, nextLoad) => nextLoad(url, context) });
}
const PACKAGES = ['express', 'pg', 'ioredis', 'mongodb', 'sequelize', 'knex', '@aws-sdk/client-s3'];
const before = process.cpuUsage();
for (const name of PACKAGES) require(name);
const ms = ({ user, system }) => Math.round((user + system) / 1000);
console.log(ms(process.cpuUsage(before)), ms(process.cpuUsage()), Object.keys(require.cache).length);
