// Records the example's cassettes: starts the price service stand-in, runs app.js recorded into
// cassettes/ (emptied first), sends it a few requests, and stops both. Run from the repository:
// node examples/regression-suite/record.js
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const cassettes = here('./cassettes');

function start(args, env = {}) {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      text += chunk;
      const port = /listening (\d+)/.exec(text)?.[1];
      if (port) resolve({ child, url: `http://127.0.0.1:${port}` });
    });
    child.on('close', (code) => reject(new Error(`${args.join(' ')} exited (${code})`)));
  });
}

fs.rmSync(cassettes, { recursive: true, force: true });
const prices = await start([here('./price-service.js')]);
const app = await start(['--import', 'timetracer/register', here('./app.js')], {
  TIMETRACER_MODE: 'record',
  TIMETRACER_DIR: cassettes,
  PORT: '0',
});
const send = async (method, path, body) => {
  const response = await fetch(`${app.url}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body && JSON.stringify(body),
  });
  console.log(`${method} ${path} → ${response.status} ${await response.text()}`);
};
await send('GET', '/quotes/ACME');
await send('GET', '/quotes/NOPE');
await send('POST', '/orders', { symbol: 'GLOBEX', quantity: 4 });
await send('POST', '/orders', { symbol: 'ACME', quantity: 0 });
for (const { child } of [app, prices]) {
  const closed = once(child, 'close');
  child.kill('SIGTERM');
  await closed.catch(() => undefined);
}
console.log(`cassettes in ${cassettes}`);
