// What the agent adds to starting an app: bench/apps/load-packages.cjs (express, pg, ioredis,
// mongodb, sequelize, knex and the S3 client) in one child process per mode, rounds interleaved
// (these machines are noisy), medians reported with the ratio to no agent. Two figures: the CPU
// the packages took to load (where a hook on module loading costs), and the process's CPU in all
// by then (what the agent's own start-up adds too; it loads some of Node's modules before the app).
//   none           no agent
//   record         --import timetracer/register, TIMETRACER_MODE=record
//   registerHooks  no agent, a module.registerHooks load hook that does nothing (Node 22.15+)
// Usage: node bench/module-load-cost.js [--rounds 15]
import { execFileSync } from 'node:child_process';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../test/support/harness.js';
import { median } from './lib/stats.js';

const APP = path.join(ROOT, 'bench', 'apps', 'load-packages.cjs');
const { values: options } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } });
const rounds = Number(options.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error('--rounds takes a whole number of at least 1');
  process.exit(2);
}

const MODES = {
  none: { args: [APP], env: {} },
  record: {
    args: ['--import', 'timetracer/register', APP],
    env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: path.join(os.tmpdir(), 'timetracer-module-load-cost') },
  },
  ...(typeof module.registerHooks === 'function' && { registerHooks: { args: [APP], env: { HOOK: 'registerHooks' } } }),
};

const samples = Object.fromEntries(Object.keys(MODES).map((mode) => [mode, { loading: [], total: [] }]));
let modules = 0;
for (let round = 0; round < rounds; round++) {
  for (const [mode, { args, env }] of Object.entries(MODES)) {
    const output = execFileSync(process.execPath, args, { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '', ...env }, encoding: 'utf8' });
    const [loading, total, loaded] = output.trim().split(' ').map(Number);
    samples[mode].loading.push(loading);
    samples[mode].total.push(total);
    modules = loaded;
  }
}
const none = { loading: median(samples.none.loading), total: median(samples.none.total) };
const cell = (value, base) => `${value} (${(value / base).toFixed(2)}×)`;
console.log(
  `Loading ${modules} modules, Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, CPU ms, median of ${rounds} rounds:`,
);
console.log('| mode | loading the packages | process in all |\n|:--|--:|--:|');
for (const [mode, { loading, total }] of Object.entries(samples)) {
  console.log(`| ${mode} | ${cell(median(loading), none.loading)} | ${cell(median(total), none.total)} |`);
}
