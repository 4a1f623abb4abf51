// Load generation: autocannon as a library, in this process, one thread (see bench/run.js on
// why not its worker threads).
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

/**
 * Sends GET requests for `paths` in turn on each of `connections` keep-alive connections, one
 * request in flight per connection (no pipelining), for `seconds`, or until `amount` requests.
 *   latencies  an array that receives each 2xx response's time in ms (autocannon's own
 *              histogram keeps whole milliseconds, too coarse for sub-millisecond differences)
 *   onTick     called every second with the responses of that second
 * Resolves with the responses counted (2xx, others, connection errors) and the wall time taken.
 */
export function drive(url, { paths, connections, seconds, amount, latencies, onTick }) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon(
      {
        url,
        connections,
        pipelining: 1,
        ...(amount ? { amount } : { duration: seconds }),
        requests: paths.map((path) => ({ method: 'GET', path })),
      },
      (error, result) => {
        if (error) return reject(error);
        resolve({
          seconds: (performance.now() - started) / 1000,
          ok: result['2xx'],
          notOk: result.non2xx,
          // Connection errors, timeouts included.
          errors: result.errors,
        });
      },
    );
    if (latencies) {
      instance.on('response', (_client, status, _bytes, ms) => {
        if (status >= 200 && status < 300) latencies.push(ms);
      });
    }
    if (onTick) instance.on('tick', ({ counter }) => onTick(counter));
  });
}
