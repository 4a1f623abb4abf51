// A local stand-in for the GitHub REST API: the two endpoints the proxy uses, a few users with
// their repositories, GitHub's 404 for anyone else, and a latency like the real one's. The
// latency is derived from the path, not drawn at random, so every run is comparable.
//
//   node examples/github-proxy/upstream.js        (PORT, default 9000; 0 = any free port)
//   LATENCY_MS=0 answers at once (any fixed number of ms): the benchmarks measure the app, not the wait
import http from 'node:http';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const USERS = {
  octocat: {
    user: {
      id: 583231,
      name: 'The Octocat',
      company: '@github',
      blog: 'https://github.blog',
      location: 'San Francisco',
      bio: null,
      public_gists: 8,
      followers: 21594,
      following: 9,
      created_at: '2011-01-25T18:44:36Z',
      updated_at: '2025-01-22T12:19:21Z',
    },
    repos: [
      ['Hello-World', 'My first repository on GitHub!', null, 2951, 2874],
      ['Spoon-Knife', 'This repo is for demonstration purposes only.', 'HTML', 12987, 149512],
      [
        'linguist',
        "Language Savant. If your repository's language is being reported incorrectly, send us a pull request!",
        'Ruby',
        566,
        227,
      ],
      ['octocat.github.io', null, 'CSS', 952, 462],
      ['git-consortium', 'This repo is for demonstration purposes only.', null, 41, 101],
      ['hello-worId', 'My first repository on GitHub.', null, 356, 388],
      ['test-repo1', null, null, 48, 37],
      ['boysenberry-repo-1', 'Testing', null, 334, 223],
    ],
  },
  torvalds: {
    user: {
      id: 1024025,
      name: 'Linus Torvalds',
      company: 'Linux Foundation',
      blog: '',
      location: 'Portland, OR',
      bio: null,
      public_gists: 0,
      followers: 231456,
      following: 0,
      created_at: '2011-09-03T15:26:22Z',
      updated_at: '2025-01-19T20:02:42Z',
    },
    repos: [
      ['linux', 'Linux kernel source tree', 'C', 187312, 55123],
      ['subsurface-for-dirk', 'Do not use - the real repository is at https://github.com/subsurface/subsurface', 'C++', 286, 106],
      ['uemacs', 'Random version of microemacs with my private modificatons', 'C', 1536, 251],
      ['test-tlb', 'Stupid memory latency tester', 'C', 798, 93],
      ['pesconvert', 'Brother PES file converter', 'C', 414, 76],
      ['libdc-for-dirk', "Only use for syncing with Dirk, don't use for anything else", 'C', 251, 105],
      ['GuitarPedal', 'Linus learns analog circuits', 'C', 1975, 140],
      ['1590A', 'Random PCB design for a guitar pedal', null, 438, 42],
    ],
  },
  gaearon: {
    user: {
      id: 810438,
      name: 'dan',
      company: null,
      blog: 'https://overreacted.io/',
      location: 'London, UK',
      bio: 'I like to tinker',
      public_gists: 120,
      followers: 89211,
      following: 171,
      created_at: '2011-05-25T18:18:31Z',
      updated_at: '2025-01-20T09:41:05Z',
    },
    repos: [
      ['overreacted.io', 'Personal blog by Dan Abramov.', 'JavaScript', 7124, 1893],
      ['react-hot-loader', 'Tweak React components in real time.', 'JavaScript', 12253, 828],
      ['redux-thunk', 'Thunk middleware for Redux.', 'JavaScript', 17789, 1054],
      ['whatthefuck.is', 'An opinionated glossary of computer science terms for front-end developers.', 'JavaScript', 2415, 137],
      ['react-blessed', 'A react renderer for blessed.', 'JavaScript', 4482, 186],
    ],
  },
};

const API = 'https://api.github.com';
const FIXED_LATENCY_MS = parseLatency(process.env.LATENCY_MS);

function parseLatency(text) {
  if (text === undefined || text === '') return undefined;
  const ms = Number(text);
  if (!Number.isInteger(ms) || ms < 0) throw new Error(`LATENCY_MS must be a whole number of milliseconds, got ${text}`);
  return ms;
}

function userJson(login) {
  const { user, repos } = USERS[login];
  return {
    login,
    id: user.id,
    node_id: Buffer.from(`04:User${user.id}`).toString('base64'),
    avatar_url: `https://avatars.githubusercontent.com/u/${user.id}?v=4`,
    url: `${API}/users/${login}`,
    html_url: `https://github.com/${login}`,
    repos_url: `${API}/users/${login}/repos`,
    type: 'User',
    site_admin: false,
    name: user.name,
    company: user.company,
    blog: user.blog,
    location: user.location,
    email: null,
    hireable: null,
    bio: user.bio,
    twitter_username: null,
    public_repos: repos.length,
    public_gists: user.public_gists,
    followers: user.followers,
    following: user.following,
    created_at: user.created_at,
    updated_at: user.updated_at,
  };
}

function reposJson(login) {
  const { user, repos } = USERS[login];
  return repos.map(([name, description, language, stars, forks], i) => ({
    id: user.id * 10 + i,
    name,
    full_name: `${login}/${name}`,
    private: false,
    owner: { login, id: user.id, type: 'User' },
    html_url: `https://github.com/${login}/${name}`,
    description,
    fork: false,
    url: `${API}/repos/${login}/${name}`,
    language,
    stargazers_count: stars,
    watchers_count: stars,
    forks_count: forks,
    default_branch: 'main',
  }));
}

const NOT_FOUND = { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/users/users#get-a-user', status: '404' };

/** LATENCY_MS when set; otherwise 80 to 150 ms, always the same for the same path. */
export function latencyMs(path) {
  if (FIXED_LATENCY_MS !== undefined) return FIXED_LATENCY_MS;
  let hash = 0;
  for (const char of path) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return 80 + (hash % 71);
}

function answer(path) {
  const match = /^\/users\/([^/]+)(\/repos)?$/.exec(path);
  const login = match && decodeURIComponent(match[1]).toLowerCase();
  if (!login || !Object.hasOwn(USERS, login)) return { status: 404, body: NOT_FOUND };
  return { status: 200, body: match[2] ? reposJson(login) : userJson(login) };
}

/** Starts the stand-in on `port` (0: any free port); resolves once it listens. */
export async function startUpstream(port = 0) {
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://upstream').pathname;
    const { status, body } = req.method === 'GET' ? answer(path) : { status: 404, body: NOT_FOUND };
    const respond = () => {
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'x-github-media-type': 'github.v3; format=json',
        'x-ratelimit-limit': '60',
        'x-ratelimit-remaining': '59',
      });
      res.end(JSON.stringify(body));
    };
    const delay = latencyMs(path);
    // A timer never fires in under a millisecond: no latency means answering right away.
    if (delay === 0) respond();
    else setTimeout(respond, delay);
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const actualPort = server.address().port;
  return {
    port: actualPort,
    url: `http://127.0.0.1:${actualPort}`,
    /** Stops listening and drops kept-alive connections: from then on, every call is refused. */
    async close() {
      if (!server.listening) return;
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const upstream = await startUpstream(Number(process.env.PORT ?? 9000));
  console.log(`listening ${upstream.port}`);
}
