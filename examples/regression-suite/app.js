// A small trading API in front of a price service, to show recorded traffic kept as tests (see
// README.md). It makes up what services make up (order ids, timestamps), which replay hands back.
//
//   PRICES_URL  the price service (default http://127.0.0.1:9110; record.js starts a stand-in there)
//   PORT        where it listens (default 8010; 0 picks any free port). Prints `listening <port>`.
import http from 'node:http';
import { randomUUID } from 'node:crypto';

const PRICES_URL = process.env.PRICES_URL || 'http://127.0.0.1:9110';

async function price(symbol) {
  const response = await fetch(`${PRICES_URL}/prices/${encodeURIComponent(symbol)}`);
  if (response.status === 404) return undefined;
  return (await response.json()).price;
}

async function quote(symbol) {
  const current = await price(symbol);
  if (current === undefined) return { status: 404, body: { error: `no such symbol: ${symbol}` } };
  return { status: 200, body: { symbol, price: current, quoted_at: new Date().toISOString() } };
}

async function order({ symbol, quantity }) {
  if (!Number.isInteger(quantity) || quantity <= 0) return { status: 400, body: { error: 'quantity must be a whole number above 0' } };
  const current = await price(symbol);
  if (current === undefined) return { status: 404, body: { error: `no such symbol: ${symbol}` } };
  const placed = {
    id: randomUUID(),
    symbol,
    quantity,
    price: current,
    total: Math.round(current * quantity * 100) / 100,
    placed_at: new Date().toISOString(),
  };
  const response = await fetch(`${PRICES_URL}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(placed),
  });
  return { status: response.status, body: await response.json() };
}

async function readJson(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return JSON.parse(text || '{}');
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://app');
  let answer;
  try {
    const symbol = /^\/quotes\/([^/]+)$/.exec(url.pathname)?.[1];
    if (req.method === 'GET' && symbol) answer = await quote(decodeURIComponent(symbol));
    else if (req.method === 'POST' && url.pathname === '/orders') answer = await order(await readJson(req));
    else answer = { status: 404, body: { error: 'not found' } };
  } catch (error) {
    answer = { status: 500, body: { error: error.message } };
  }
  res.writeHead(answer.status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(answer.body));
});
server.listen(Number(process.env.PORT ?? 8010), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
