// The --require entry, for CommonJS-only setups: `node --require timetracer/register app.js`.
// Node does not wait for a --require preload, so the agent is required (Node 20.19 and later
// load its ES modules synchronously) and in place before the app loads anything.
// With TIMETRACER_MODE unset or off it loads nothing more; it follows the main thread only.
require('./dist/src/launcher-env.js').applyLauncherEnv();
const mode = process.env.TIMETRACER_MODE?.trim().toLowerCase();

if (mode && mode !== 'off' && require('node:worker_threads').isMainThread) {
  try {
    const { start } = require('./dist/src/agent.js');
    const { instrumentations } = require('./dist/instrumentations/index.js');
    start(instrumentations, 'require');
  } catch (error) {
    process.stderr.write(`timetracer [WARN] could not start (${error?.message ?? error}); the app runs without it\n`);
  }
}
