// The HTTP clients people use, on top of node:http or fetch: each recorded against a real local
// server, then replayed with that server stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { APPS, readJson, request, startApp, startUpstream, tempDir } from './support/harness.js';

const APP = path.join(APPS, 'http-clients.mjs');

/** Each client's route, and the transport its calls are recorded at. */
const CLIENTS = [
  ['/axios-http', 'axios (http adapter)', ['http', 'http']],
  ['/axios-fetch', 'axios (fetch adapter)', ['fetch']],
  ['/got', 'got', ['http', 'http']],
  ['/node-fetch2', 'node-fetch 2', ['http']],
  ['/node-fetch3', 'node-fetch 3', ['http']],
  ['/ky', 'ky', ['fetch']],
  ['/superagent', 'superagent', ['http']],
  ['/s3', '@aws-sdk/client-s3', ['http', 'http', 'http']],
];

const LIST =
  '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult ' +
  'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>' +
  '<IsTruncated>false</IsTruncated><Contents><Key>notes.txt</Key><Size>8</Size></Contents></ListBucketResult>';

/** A stand-in for the API and for S3's path-style object API. */
async function api(t) {
  return startUpstream(t, async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    if (req.url.startsWith('/bucket')) {
      if (req.method === 'PUT') {
        res.writeHead(200, { etag: '"5d41402abc4b2a76b9719d911017c592"' });
        return res.end();
      }
      if (req.url.includes('list-type=2')) {
        res.writeHead(200, { 'content-type': 'application/xml' });
        return res.end(LIST);
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '8' });
      return res.end('hello s3');
    }
    res.setHeader('content-type', 'application/json');
    if (req.url.startsWith('/echo')) return res.end(JSON.stringify({ method: req.method, body }));
    res.end(JSON.stringify({ hello: 'world', query: req.url.split('?')[1] ?? null }));
  });
}

test('HTTP clients: each recorded against a local server, then replayed with it stopped', async (t) => {
  const upstream = await api(t);
  const dir = tempDir(t);
  const recording = await startApp(t, APP, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, API_URL: upstream.url } });
  const live = [];
  for (const [route] of CLIENTS) live.push(await request(`${recording.url}${route}`));
  const files = await recording.cassettes(CLIENTS.length);
  await recording.stop();

  await upstream.close();
  const replaying = await startApp(t, APP, { env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, API_URL: upstream.url } });
  for (const [i, [route, name, libs]] of CLIENTS.entries()) {
    await t.test(name, async () => {
      assert.equal(live[i].status, 200, live[i].text);
      const cassette = readJson(files.find((f) => readJson(f).request.path === route));
      assert.deepEqual(
        cassette.events.map((e) => e.signature.lib),
        libs,
        'its calls, each once',
      );
      const replayed = await request(`${replaying.url}${route}`);
      assert.deepEqual([replayed.status, replayed.text], [live[i].status, live[i].text], 'the same response with the server stopped');
      const line = await replaying.waitForLine(new RegExp(`^timetracer replay GET ${route} `));
      assert.match(line, /matched=OK/);
    });
  }
  assert.deepEqual(JSON.parse(live[7].text), { etag: '"5d41402abc4b2a76b9719d911017c592"', body: 'hello s3', keys: ['notes.txt'] });
});
