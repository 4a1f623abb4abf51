// Loaded before timetracer: counts every clock and Math.random read by the package that made it
// (timetracer's own frames skipped), whether timetracer serves it or leaves it live, and prints
// the counts on SIGUSR2 as `reads-by-package {"ioredis": 3, ...}`.
const counts = {};

function readerOf(below) {
  const { prepareStackTrace, stackTraceLimit } = Error;
  Error.stackTraceLimit = 16;
  Error.prepareStackTrace = (_error, sites) => sites;
  const holder = {};
  Error.captureStackTrace(holder, below);
  const files = holder.stack.map((site) => site.getFileName() ?? '');
  Error.prepareStackTrace = prepareStackTrace;
  Error.stackTraceLimit = stackTraceLimit;
  const file = files.find((f) => !f.includes('/dist/src/')) ?? '';
  const at = file.lastIndexOf('/node_modules/');
  return at < 0 ? 'app' : file.slice(at + '/node_modules/'.length).split('/')[0];
}

function count(below) {
  const reader = readerOf(below);
  counts[reader] = (counts[reader] ?? 0) + 1;
}

const now = Date.now;
Date.now = function countedNow() {
  count(countedNow);
  return now();
};
const random = Math.random;
Math.random = function countedRandom() {
  count(countedRandom);
  return random();
};
process.on('SIGUSR2', () => process.stderr.write(`reads-by-package ${JSON.stringify(counts)}\n`));
