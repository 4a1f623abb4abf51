// A small API in front of GitHub's: plain node:http and global fetch, no dependencies, and not a
// line about timetracer. It is the example app of the timetracer tutorial, with its bug.
//
//   GITHUB_API  where GitHub's API is (default https://api.github.com; the demo uses upstream.js)
//   PORT        default 8000; 0 picks any free port. Prints `listening <port>` once it listens.
//   FIXED=1     turns on the fix for the bug in GET /user/:username (see getUser)
//
// Run it recorded:  TIMETRACER_MODE=record node --import timetracer/register examples/github-proxy/app.js
import http from 'node:http';

const GITHUB_API = process.env.GITHUB_API || 'https://api.github.com';
const PORT = Number(process.env.PORT ?? 8000);
const FIXED = process.env.FIXED === '1';

function github(path) {
  return fetch(`${GITHUB_API}${path}`, { headers: { accept: 'application/vnd.github+json' } });
}

function home() {
  return {
    status: 200,
    body: {
      message: 'Welcome to the timetracer example',
      endpoints: ['/', '/user/{username}', '/repos/{username}'],
    },
  };
}

async function getUser(username) {
  const response = await github(`/users/${encodeURIComponent(username)}`);
  // The fix (FIXED=1): GitHub answers 404 for an unknown user; check before using the body.
  if (FIXED && response.status === 404) return { status: 404, body: { error: 'User not found' } };
  // The bug: the body is assumed to be a user. For an unknown user it is GitHub's error instead,
  // `created_at` is missing, this line throws, and the app answers 500.
  const user = await response.json();
  return {
    status: 200,
    body: {
      login: user.login,
      name: user.name,
      bio: user.bio,
      public_repos: user.public_repos,
      followers: user.followers,
      member_since: user.created_at.slice(0, 10),
    },
  };
}

async function getRepos(username) {
  const user = await (await github(`/users/${encodeURIComponent(username)}`)).json();
  const repos = await (await github(`/users/${encodeURIComponent(username)}/repos`)).json();
  const top = repos
    .toSorted((a, b) => b.stargazers_count - a.stargazers_count)
    .slice(0, 5)
    .map((repo) => ({ name: repo.name, stars: repo.stargazers_count }));
  return { status: 200, body: { username, total_repos: user.public_repos, top_repos: top } };
}

function route(pathname) {
  if (pathname === '/') return home();
  const [, resource, username, ...rest] = pathname.split('/');
  if (username && rest.length === 0) {
    if (resource === 'user') return getUser(decodeURIComponent(username));
    if (resource === 'repos') return getRepos(decodeURIComponent(username));
  }
  return { status: 404, body: { error: 'Not Found' } };
}

const server = http.createServer(async (req, res) => {
  let answer;
  try {
    answer = await route(new URL(req.url, 'http://app').pathname);
  } catch (error) {
    // What a framework does with an uncaught handler error: log it, answer 500.
    console.error(`${req.method} ${req.url} failed: ${error}`);
    answer = { status: 500, body: { error: 'Internal Server Error' } };
  }
  res.writeHead(answer.status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(answer.body));
});

server.listen(PORT, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
