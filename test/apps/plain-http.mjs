// A plain node:http app (ESM): routes that call an upstream through node:http and global fetch.
import http from 'node:http';
import { get } from 'node:http';

const UPSTREAM = process.env.UPSTREAM_URL;

function fetchText(url) {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    }).on('error', reject);
  });
}

async function readBody(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://app');
  try {
    if (url.pathname === '/health') {
      res.end('ok');
    } else if (url.pathname.startsWith('/via-http/')) {
      const upstream = await fetchText(`${UPSTREAM}/items/${url.pathname.split('/')[2]}`);
      res.setHeader('content-type', 'application/json');
      res.end(upstream.text);
    } else if (url.pathname.startsWith('/via-fetch/')) {
      const upstream = await fetch(`${UPSTREAM}/items/${url.pathname.split('/')[2]}`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(await upstream.json()));
    } else if (url.pathname === '/echo' && req.method === 'POST') {
      const body = await readBody(req);
      const upstream = await fetch(`${UPSTREAM}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      res.setHeader('content-type', 'application/json');
      res.end(await upstream.text());
    } else if (url.pathname === '/crash') {
      throw new Error('handler crashed on purpose');
    } else {
      res.statusCode = 404;
      res.end('not found');
    }
  } catch (error) {
    res.statusCode = 500;
    res.end(String(error));
  }
});

server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
