// An app calling an HTTP API (API_URL) through every entry point of the undici package it is
// handed (see undici6/ and undici8.mjs), and through the global fetch beside it. A custom
// dispatcher, set with setGlobalDispatcher at start, counts what passes through it.
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { serveJsonRoutes } from './json-routes.mjs';

export function start(undici) {
  const API = process.env.API_URL;

  class CountingDispatcher extends undici.Dispatcher {
    constructor(inner) {
      super();
      this.inner = inner;
      this.count = 0;
    }

    dispatch(options, handler) {
      this.count++;
      return this.inner.dispatch(options, handler);
    }
  }
  const counting = new CountingDispatcher(new undici.Agent());
  undici.setGlobalDispatcher(counting);

  const pool = new undici.Pool(API, { connections: 2 });
  const agent = new undici.Agent();
  const composed = new undici.Agent().compose(undici.interceptors.redirect({ maxRedirections: 2 }));

  const routes = {
    '/request': async () => {
      const { statusCode, headers, body } = await undici.request(`${API}/json`);
      return { statusCode, type: headers['content-type'], body: await body.json() };
    },
    '/fetch': async () => (await undici.fetch(`${API}/json`)).json(),
    '/stream': async () => {
      const chunks = [];
      await undici.stream(
        `${API}/json`,
        { method: 'GET' },
        () =>
          new Writable({
            write(chunk, _encoding, callback) {
              chunks.push(chunk);
              callback();
            },
          }),
      );
      return JSON.parse(Buffer.concat(chunks).toString());
    },
    '/pool': async () => {
      const results = await Promise.all(
        ['a', 'b', 'c'].map(async (name) => {
          const { body } = await pool.request({ path: `/echo?name=${name}`, method: 'POST', body: `payload ${name}` });
          return body.text();
        }),
      );
      return results;
    },
    '/client': async () => {
      const client = new undici.Client(API);
      const { body } = await client.request({
        path: '/echo',
        method: 'PUT',
        headers: { 'content-type': 'text/plain' },
        body: 'from a client',
      });
      const text = await body.text();
      await client.close();
      return text;
    },
    '/fetch-with-dispatcher': async () => (await fetch(`${API}/json`, { dispatcher: agent })).json(),
    '/agent': async () => await (await undici.request(`${API}/json`, { dispatcher: agent })).body.json(),
    '/interceptors': async () => {
      const { statusCode, body } = await composed.request({ origin: API, path: '/redirect', method: 'GET' });
      return { statusCode, body: await body.json() };
    },
    '/global': async () => {
      const before = counting.count;
      const viaRequest = await (await undici.request(`${API}/json`)).body.json();
      const viaGlobalFetch = await (await fetch(`${API}/json`)).json();
      return { viaRequest, viaGlobalFetch, dispatched: counting.count - before };
    },
    // Bodies: bytes as they arrived (hashed), decoded content, streams both ways, a body too large to keep.
    '/binary': async () => {
      const bytes = Buffer.from(await (await undici.request(`${API}/binary`)).body.arrayBuffer());
      return { length: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    },
    '/encodings': async () =>
      Promise.all(['gzip', 'br', 'deflate'].map(async (coding) => (await undici.fetch(`${API}/encoded/${coding}`)).json())),
    '/chunked': async () => (await undici.request(`${API}/chunked`)).body.text(),
    '/upload': async () => {
      const body = Readable.from(['streamed ', 'request ', 'body']);
      return (await undici.request(`${API}/echo`, { method: 'POST', body })).body.json();
    },
    '/large': async () => {
      try {
        const text = await (await undici.request(`${API}/large`)).body.text();
        return { length: text.length };
      } catch (error) {
        return { error: error.message };
      }
    },
    '/sse': async () => {
      const text = await (await undici.fetch(`${API}/sse`)).text();
      return { events: text.split('\n\n').filter(Boolean) };
    },
    // Failures: status codes, DNS, a timeout, the app aborting, the server hanging up mid-body.
    '/statuses': async () =>
      Promise.all(
        [404, 503].map(async (code) => {
          const { statusCode, body } = await undici.request(`${API}/status/${code}`);
          return { statusCode, text: await body.text() };
        }),
      ),
    '/dns': async () =>
      undici.request('http://no-such-host.invalid/').then(
        () => ({ error: null }),
        (error) => ({ code: error.code }),
      ),
    '/timeout': async () =>
      undici.request(`${API}/slow`, { headersTimeout: 100 }).then(
        () => ({ error: null }),
        (error) => ({ name: error.name, code: error.code }),
      ),
    '/abort': async () => {
      const controller = new AbortController();
      const { body } = await undici.request(`${API}/chunked`, { signal: controller.signal });
      controller.abort();
      return body.text().then(
        () => ({ error: null }),
        (error) => ({ name: error.name }),
      );
    },
    '/hangup': async () => {
      const { body } = await undici.request(`${API}/hangup`);
      return body.text().then(
        () => ({ error: null }),
        (error) => ({ name: error.name, code: error.code }),
      );
    },
    '/error': async () => {
      try {
        await undici.request('http://127.0.0.1:1/refused');
        return { error: null };
      } catch (error) {
        return { error: { name: error.name, code: error.code } };
      }
    },
  };

  serveJsonRoutes(routes);
}
