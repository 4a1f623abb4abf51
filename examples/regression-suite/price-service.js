// A stand-in for the price service app.js calls, for recording: fixed prices, and orders echoed
// back as accepted. Listens on 127.0.0.1:9110, or PORT.
import http from 'node:http';

const PRICES = { ACME: 12.5, GLOBEX: 7.25 };

const server = http.createServer(async (req, res) => {
  res.setHeader('content-type', 'application/json');
  const symbol = /^\/prices\/([^/]+)$/.exec(req.url)?.[1];
  if (symbol) {
    if (!(symbol in PRICES)) {
      res.statusCode = 404;
      return res.end(JSON.stringify({ error: 'unknown symbol' }));
    }
    return res.end(JSON.stringify({ symbol, price: PRICES[symbol] }));
  }
  if (req.method === 'POST' && req.url === '/orders') {
    let text = '';
    for await (const chunk of req) text += chunk;
    res.statusCode = 201;
    return res.end(JSON.stringify({ ...JSON.parse(text), status: 'accepted' }));
  }
  res.statusCode = 404;
  res.end('{}');
});
server.listen(Number(process.env.PORT ?? 9110), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
