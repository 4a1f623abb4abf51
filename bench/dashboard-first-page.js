// How fast the dashboard answers on a large directory. Starts `timetracer serve` as a user would,
// cold (no catalog cache: every cassette is read) and warm (the cache from the run before), and
// times the start-up (spawn to the "timetracer dashboard:" line, the catalog loaded), the first
// `GET /api/cassettes?limit=50`, and the first search. Medians over --runs starts of each.
//
// Usage: npm run build && node bench/generate-cassettes.js --dir D --count 100000
//        node bench/dashboard-first-page.js --dir D [--runs 3]
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ROOT, request, startApp } from '../test/support/harness.js';
import { CACHE_FILE } from '../dist/src/catalog/catalog.js';

const { values: options } = parseArgs({ options: { dir: { type: 'string' }, runs: { type: 'string', default: '3' } } });
const runs = Number(options.runs);
if (!options.dir || !fs.existsSync(options.dir) || !Number.isInteger(runs) || runs < 1) {
  process.stderr.write('usage: node bench/dashboard-first-page.js --dir D [--runs 3] (D made by bench/generate-cassettes.js)\n');
  process.exit(2);
}
const dir = path.resolve(options.dir);

/** The harness's `t`: runs the stops it is given. */
class Teardown {
  #steps = [];

  after(step) {
    this.#steps.push(step);
  }

  async run() {
    for (const step of this.#steps.splice(0).reverse()) await step();
  }
}

async function timed(action) {
  const started = performance.now();
  const value = await action();
  return { ms: performance.now() - started, value };
}

async function start(cold) {
  if (cold) fs.rmSync(path.join(dir, CACHE_FILE), { force: true });
  const teardown = new Teardown();
  try {
    const started = performance.now();
    const serve = await startApp(teardown, path.join(ROOT, 'bin', 'timetracer.mjs'), {
      register: false,
      waitForPort: false,
      args: ['serve', '--dir', dir, '--port', '0'],
    });
    const line = await serve.waitForLine(/^timetracer dashboard: /, 'stdout');
    const startup = performance.now() - started;
    const url = /(http:\S+)/.exec(line)[1];
    const page = await timed(() => request(`${url}api/cassettes?limit=50`));
    const search = await timed(() => request(`${url}api/cassettes?limit=50&q=orders`));
    const { total } = page.value.json();
    return { startup, firstPage: page.ms, firstSearch: search.ms, total };
  } finally {
    await teardown.run();
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const results = { cold: [], warm: [] };
for (let i = 0; i < runs; i++) {
  results.cold.push(await start(true));
  results.warm.push(await start(false));
}
const total = results.warm[0].total;
process.stdout.write(`timetracer serve on ${total} cassettes in ${dir}, median of ${runs} starts each\n`);
process.stdout.write('| catalog | start-up (spawn to listening) | first page (limit=50) | first search (q=orders) |\n|:--|--:|--:|--:|\n');
for (const kind of ['cold', 'warm']) {
  const pick = (name) => `${median(results[kind].map((r) => r[name])).toFixed(0)} ms`;
  process.stdout.write(
    `| ${kind === 'cold' ? 'cold (no cache)' : 'warm (cache)'} | ${pick('startup')} | ${pick('firstPage')} | ${pick('firstSearch')} |\n`,
  );
}
