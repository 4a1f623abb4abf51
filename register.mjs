// The --import entry: `node --import timetracer/register app.js`.
// With TIMETRACER_MODE unset or off it loads nothing more.
const mode = process.env.TIMETRACER_MODE?.trim().toLowerCase();

if (mode && mode !== 'off') {
  try {
    const [{ start }, { instrumentations }] = await Promise.all([
      import('./dist/src/agent.js'),
      import('./dist/instrumentations/index.js'),
    ]);
    start(instrumentations);
  } catch (error) {
    process.stderr.write(`timetracer [WARN] could not start (${error?.message ?? error}); the app runs without it\n`);
  }
}
