// An app with a login: POST /login answers a fresh random token in its body and a session cookie;
// GET /me needs the token as a bearer credential, GET /cart needs the cookie. Both are secrets the
// recording redacts, so a suite that sends these requests again must send what the app answered.
import crypto from 'node:crypto';
import http from 'node:http';

const tokens = new Map();
const sessions = new Map();

const server = http.createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  res.setHeader('content-type', 'application/json');
  const answer = (status, value) => {
    res.statusCode = status;
    res.end(JSON.stringify(value));
  };
  if (req.method === 'POST' && req.url === '/login') {
    const { user } = JSON.parse(body);
    const token = crypto.randomBytes(16).toString('hex');
    const sid = crypto.randomBytes(12).toString('base64url');
    tokens.set(token, user);
    sessions.set(sid, user);
    res.setHeader('set-cookie', `sid=${sid}; Path=/; HttpOnly`);
    return answer(200, { access_token: token, token_type: 'bearer' });
  }
  if (req.url === '/me') {
    const user = tokens.get(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]);
    return user ? answer(200, { user }) : answer(401, { error: 'unknown token' });
  }
  if (req.url === '/cart') {
    const user = sessions.get(/(?:^|;\s*)sid=([^;]+)/.exec(req.headers.cookie ?? '')?.[1]);
    return user ? answer(200, { user, items: 2 }) : answer(401, { error: 'no session' });
  }
  answer(404, {});
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
