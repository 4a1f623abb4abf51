/**
 * Plugins that found nothing to patch: each problem is said once on stderr, and kept so that
 * strict replay can name it when it refuses such a plugin's connection.
 */
import { warn } from './log.js';

const problems = new Map<string, string[]>();

/** `consequence`: what it means for the app's calls in this mode. */
export function reportNotAttached(plugin: string, problem: string, consequence: string): void {
  const known = problems.get(plugin) ?? [];
  if (known.includes(problem)) return;
  problems.set(plugin, [...known, problem]);
  warn(`${plugin} is not instrumented: ${problem}; ${consequence}`);
}

/** The first problem said of `plugin`, if any. */
export function notAttachedProblem(plugin: string): string | undefined {
  return problems.get(plugin)?.[0];
}
