// A login with the password hash library named by PASSWORD_LIBRARY: the password sent is checked
// against the account's hash, which the upstream (the account store) answers under a field named
// as a secret, so that cassettes hold it redacted and replay must hand back the check's outcome.
const { fetchJson, serve } = require('./probe.cjs');

const LIBRARY = process.env.PASSWORD_LIBRARY;
const library = require(LIBRARY);
const checks = {
  argon2: (password, hash) => library.verify(hash, password),
  bcrypt: (password, hash) => library.compare(password, hash),
  '@node-rs/bcrypt': (password, hash) => library.verify(password, hash),
};

serve({
  'POST /login': async ({ name, password }) => {
    const account = await fetchJson(`/accounts/${name}`);
    return { ok: await checks[LIBRARY](password, account.password) };
  },
});
