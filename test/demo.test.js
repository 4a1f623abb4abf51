// `npm run demo` as a newcomer runs it: it must exit 0, replay every endpoint with the same
// response, and replay the endpoints that call GitHub faster than it recorded them (one run's
// ratio, a sanity check, never an absolute time).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { ROOT, tempDir } from './support/harness.js';

const CALLS_GITHUB = ['/user/octocat', '/repos/octocat', '/user/nonexistent-user-12345'];

async function runDemo(t, dir) {
  const child = spawn(process.execPath, [path.join(ROOT, 'examples', 'demo.js'), '--dir', dir], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill());
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text) => {
    output += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text) => {
    output += text;
  });
  const [code] = await once(child, 'close');
  return { code, output };
}

/** The rows of the demo's table: endpoint -> { record, replay, same }. */
function tableRows(output) {
  const rows = new Map();
  for (const line of output.split('\n')) {
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim());
    if (cells.length !== 5 || !cells[0].startsWith('/')) continue;
    rows.set(cells[0], { record: Number(cells[1]), replay: Number(cells[2]), same: cells[4] });
  }
  return rows;
}

test('npm run demo records, replays offline with the same responses, and shows the fix', { timeout: 60_000 }, async (t) => {
  const { code, output } = await runDemo(t, path.join(tempDir(t), 'cassettes'));
  assert.equal(code, 0, output);

  const rows = tableRows(output);
  assert.deepEqual([...rows.keys()], ['/', ...CALLS_GITHUB], output);
  for (const [endpoint, row] of rows) assert.equal(row.same, 'yes', `${endpoint}:\n${output}`);
  for (const endpoint of CALLS_GITHUB) {
    const { record, replay } = rows.get(endpoint);
    assert.ok(replay < record, `${endpoint}: replay ${replay} ms is not faster than record ${record} ms\n${output}`);
  }

  assert.match(output, /timetracer \[ERROR\] recorded GET \/user\/nonexistent-user-12345 id=[0-9a-f]{4} status=500 /);
  assert.match(output, /GET \/user\/nonexistent-user-12345 -> 404 \{"error":"User not found"\}/);

  // The suite: every request passes against the app as recorded; the fix fails the one it changes.
  assert.match(output, /^ {4}4 passed, 0 failed$/m);
  assert.match(
    output,
    /^ {6}FAIL {2}GET \/user\/nonexistent-user-12345 {2}500 → 404\n {12}status: 500 → 404\n {12}body\.error: "Internal Server Error" → "User not found"$/m,
  );
  assert.match(output, /^ {4}3 passed, 1 failed$/m);
});
