// An ESM app for concurrency: request /c/<i> makes three calls whose URLs or bodies carry i,
// through node:http with a keep-alive agent of few sockets (so requests share sockets) and
// through fetch (whose pool shares connections too), chained in callback and promise style.
import http from 'node:http';

const UPSTREAM = process.env.UPSTREAM_URL;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function readJson(res, done) {
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (chunk) => {
    text += chunk;
  });
  res.on('end', () => done(JSON.parse(text)));
}

function post(i, done) {
  const req = http.request(`${UPSTREAM}/echo`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) =>
    readJson(res, done),
  );
  req.on('error', (error) => done({ error: error.message }));
  req.end(JSON.stringify({ posted: `post-${i}` }));
}

const server = http.createServer((req, res) => {
  const i = req.url.split('/')[2];
  const reply = (value) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(value));
  };
  http
    .get(`${UPSTREAM}/items/http-${i}`, { agent }, (first) =>
      readJson(first, (viaHttp) => {
        fetch(`${UPSTREAM}/items/fetch-${i}`)
          .then((r) => r.json())
          .then(
            (viaFetch) => post(i, (posted) => reply({ i, viaHttp, viaFetch, posted })),
            (error) => reply({ error: error.message }),
          );
      }),
    )
    .on('error', (error) => reply({ error: error.message }));
});

server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
