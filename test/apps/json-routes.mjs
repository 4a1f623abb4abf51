// The server of the test apps that answer each route with JSON: a table of path -> async
// function, 404 for any other path, 500 with the message when a route throws. Prints
// `listening <port>` once it listens on a free port.
import http from 'node:http';

export function serveJsonRoutes(routes) {
  const server = http.createServer(async (req, res) => {
    try {
      const route = routes[req.url];
      const body = route ? await route() : { error: 'Not Found' };
      res.writeHead(route ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    } catch (error) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: error.message }));
    }
  });
  server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
  return server;
}
