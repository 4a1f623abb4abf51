// The --import entry: `node --import timetracer/register app.js`.
// With TIMETRACER_MODE unset or off it loads nothing more. Node runs --import in every worker
// thread too (timetracer's own cassette writer included): the agent follows the main thread only.
import { applyLauncherEnv } from './dist/src/launcher-env.js';

applyLauncherEnv();
const mode = process.env.TIMETRACER_MODE?.trim().toLowerCase();

if (mode && mode !== 'off' && (await import('node:worker_threads')).isMainThread) {
  try {
    const [{ start }, { instrumentations }] = await Promise.all([
      import('./dist/src/agent.js'),
      import('./dist/instrumentations/index.js'),
    ]);
    await start(instrumentations);
  } catch (error) {
    process.stderr.write(`timetracer [WARN] could not start (${error?.message ?? error}); the app runs without it\n`);
  }
}
