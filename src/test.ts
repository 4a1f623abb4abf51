/**
 * `timetracer/test`: a project's recorded cassettes as node:test tests, one per recorded request,
 * so they run in `npm test` with node:test's own reporters (spec, TAP, JUnit).
 *
 * ```js
 * // app.test.js
 * import { replayCassettes } from 'timetracer/test';
 * replayCassettes('cassettes', { start: ['node', 'app.js'] });
 * ```
 *
 * The app is started once, in replay mode, when the first of these tests runs; every recorded
 * request is sent to it again and compared with its recording as `timetracer replay` compares it
 * (the noise file beside the cassettes included). A test fails with what differs: the response's
 * fields, a call the recording does not hold, a recorded call no longer made.
 */
import path from 'node:path';
import { test } from 'node:test';
import { requestLine } from './cli/compare.js';
import { differenceLines, PLAIN_STYLE, REPLAY_SIDES } from './cli/format.js';
import { noiseOf, recordedRequests, runReplay, type ReplayRun, type RequestResult } from './cli/replay-run.js';

export interface ReplayCassettesOptions {
  /** The command that starts the app, as argv: `['node', 'app.js']`. It gets PORT, and the agent. */
  start: readonly string[];
  /** Fields not compared: names at any depth, or paths as reported (`body.updated_at`). */
  ignore?: readonly string[];
  /** A recorded call the app no longer makes does not fail its test. */
  allowUnused?: boolean;
  /** The port the app listens on, when it does not read PORT. */
  port?: number;
  /** A URL that answers once the app is up (default: the first socket it listens on). */
  ready?: string;
  /** More environment for the app. */
  env?: Readonly<Record<string, string>>;
  /** How long the app may take to start, and each request to be answered (default 60 s). */
  timeoutMs?: number;
}

/** Declares one node:test test per request cassette in `cassettes` (a directory, or one file). */
export function replayCassettes(cassettes: string, options: ReplayCassettesOptions): void {
  const requests = recordedRequests(cassettes);
  let run: Promise<ReplayRun> | undefined;
  const results = (): Promise<ReplayRun> =>
    (run ??= runReplay({
      cassettes,
      command: options.start,
      ignore: [...(options.ignore ?? []), ...noiseOf(cassettes)],
      allowUnused: options.allowUnused,
      port: options.port,
      ready: options.ready,
      env: options.env,
      timeoutMs: options.timeoutMs,
    }));
  for (const [i, { file, cassette }] of requests.entries()) {
    const { request, response } = cassette;
    test(`${request.method} ${request.route ?? request.path} → ${response.status || 'no response'} (${path.basename(file)})`, async () => {
      const result = (await results()).results[i]!;
      if (!result.passed) throw new Error(failureMessage(result));
    });
  }
}

function failureMessage(result: RequestResult): string {
  const head = `${requestLine(result.recorded.request)} replayed unlike its recording (${result.file})`;
  const details = result.problem
    ? [result.problem]
    : result.failures.flatMap((difference) => differenceLines(difference, PLAIN_STYLE, REPLAY_SIDES));
  return [head, ...details.map((line) => `  ${line}`)].join('\n');
}
