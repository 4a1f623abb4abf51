// Cleanup for the benchmarks, on every way out: done, failed, or interrupted (Ctrl-C, SIGTERM).
import os from 'node:os';

/**
 * What node:test's `t.after` gives the test harness: cleanups run last-registered first. The
 * harness (test/support/harness.js) registers through it the scratch database's drop, temp dirs
 * and every child it starts.
 */
export class Teardown {
  #steps = [];

  after(step) {
    this.#steps.push(step);
  }

  async run() {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        process.stderr.write(`cleanup: ${error.message}\n`);
      }
    }
  }
}

/**
 * Runs `body(teardown)`, then the teardown, whatever happens. A failure is printed and sets the
 * exit code; a signal, or an error thrown outside the awaited work (in an event handler), stops
 * the children and drops the scratch database before exiting.
 */
export async function withTeardown(body) {
  const teardown = new Teardown();
  let stopping = false;
  const stop = (code) => {
    stopping = true;
    teardown.run().finally(() => process.exit(code));
  };
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => stop(128 + os.constants.signals[signal]));
  process.once('uncaughtException', (error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    stop(1);
  });
  try {
    await body(teardown);
  } catch (error) {
    // Once stopping, the work in flight fails because its apps were stopped: not news.
    if (!stopping) process.stderr.write(`${error.stack ?? error}\n`);
    process.exitCode = 1;
  } finally {
    await teardown.run();
  }
}
