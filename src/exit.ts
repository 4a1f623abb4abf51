/**
 * Work to do as the process ends, however it ends: `process.exit()`, the event loop running dry,
 * or a SIGINT, SIGTERM or SIGHUP the app does not handle itself. A signal the app handles is the
 * app's: it decides whether and when to exit, and the work runs then. Unhandled, the process still
 * dies of the signal, after the work, as it would without the agent. No other signal is listened
 * to: Node ignores SIGXFSZ and SIGPIPE, and a listener would make them fatal again (an app past
 * its file size limit would die instead of getting EFBIG).
 */
import { describeError, warn } from './log.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const work: (() => void)[] = [];
let installed = false;
let ran = false;

/** Runs `task` once as the process ends, after the tasks given before it. */
export function onProcessEnd(task: () => void): void {
  work.push(task);
  if (installed) return;
  installed = true;
  process.once('exit', runWork);
  for (const signal of SIGNALS) {
    const listener = (): void => {
      // Another listener is the app's: the signal is its to handle.
      if (process.listenerCount(signal) > 1) return;
      runWork();
      process.removeListener(signal, listener);
      process.kill(process.pid, signal);
    };
    process.on(signal, listener);
  }
}

function runWork(): void {
  if (ran) return;
  ran = true;
  for (const task of work) {
    try {
      task();
    } catch (error) {
      warn(`could not finish its work at exit (${describeError(error)})`);
    }
  }
}
