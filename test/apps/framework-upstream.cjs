// How the framework test apps call their upstream: through global fetch or through node:http.
// Both send an optional JSON body and resolve with the upstream's JSON answer.
const http = require('node:http');

const UPSTREAM = process.env.UPSTREAM_URL;

exports.viaFetch = async function viaFetch(method, path, body) {
  const response = await fetch(`${UPSTREAM}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.json();
};

exports.viaHttp = function viaHttp(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${UPSTREAM}${path}`, { method }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => {
        try {
          resolve(JSON.parse(text));
        } catch (error) {
          reject(error);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.setHeader('content-type', 'application/json');
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
};
