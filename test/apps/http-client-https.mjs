// An inbound HTTPS server (ESM) whose handler calls an HTTPS upstream through node:https, named
// import, trusting the test's self-signed certificate, and an HTTP upstream through fetch.
import fs from 'node:fs';
import { createServer, get } from 'node:https';

const key = fs.readFileSync(process.env.TLS_KEY_FILE);
const cert = fs.readFileSync(process.env.TLS_CERT_FILE);

function getJson(url) {
  return new Promise((resolve, reject) => {
    get(url, { ca: cert }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve(JSON.parse(text)));
    }).on('error', reject);
  });
}

const server = createServer({ key, cert }, async (req, res) => {
  const id = new URL(req.url, 'https://app').searchParams.get('id');
  try {
    const [viaHttps, viaFetch] = await Promise.all([
      getJson(`${process.env.TLS_UPSTREAM_URL}/items/tls-${id}`),
      fetch(`${process.env.UPSTREAM_URL}/items/plain-${id}`).then((r) => r.json()),
    ]);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ viaHttps, viaFetch }));
  } catch (error) {
    res.statusCode = 502;
    res.end(JSON.stringify({ name: error.name, code: error.code, message: error.message }));
  }
});

server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
