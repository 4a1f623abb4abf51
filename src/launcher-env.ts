/**
 * The app's own environment, where a launcher applies it only after the preloads have run. pm2 in
 * cluster mode forks each worker with its daemon's environment and hands it the app's (the
 * ecosystem file's `env`) as JSON in `pm2_env`, which its container copies into `process.env`
 * just before it loads the app: TIMETRACER_* set there would reach the agent too late.
 */
const PREFIX = 'TIMETRACER_';

/** Copies TIMETRACER_* from the app's environment as the launcher holds it, where not set already. */
export function applyLauncherEnv(env: NodeJS.ProcessEnv = process.env): void {
  const launched = env.pm2_env;
  if (!launched) return;
  let appEnv: unknown;
  try {
    appEnv = (JSON.parse(launched) as { env?: unknown }).env;
  } catch {
    return;
  }
  if (typeof appEnv !== 'object' || appEnv === null) return;
  for (const [name, value] of Object.entries(appEnv)) {
    if (name.startsWith(PREFIX) && typeof value === 'string' && env[name] === undefined) env[name] = value;
  }
}
