/** Record mode's start: the writer, the process cassette, the recorder of inbound requests. */
import type { BodyPolicy } from './cassette/body.js';
import type { Config } from './config.js';
import type { S3Location } from './remote/s3.js';
import { onProcessEnd } from './exit.js';
import { currentSession } from './context.js';
import { cassetteContextOf } from './inbound/cassette.js';
import type { SessionLifecycle } from './inbound/server.js';
import { LoadShedder } from './record/load-shedding.js';
import { ProcessRecorder } from './record/process-recorder.js';
import { Recorder } from './record/recorder.js';
import { CassetteWriter } from './record/writer.js';

/** `remote`: record into S3, `config.dir` being the spool uploaded from. */
export function startRecording(config: Config, policy: BodyPolicy, remote?: S3Location): SessionLifecycle {
  const writer = new CassetteWriter({
    root: config.dir,
    gzip: config.compression === 'gzip',
    layout: config.layout,
    service: config.service,
    redactor: policy.redactor,
    maxPending: config.maxPending,
    exitWaitMs: config.flushTimeoutMs,
    ...(remote && { remote }),
  });
  const context = cassetteContextOf(config, policy);
  const processRecorder = new ProcessRecorder({ context, writer, maxEvents: config.processMaxEvents, determinism: config.determinism });
  const shedder = config.shedLoad ? new LoadShedder(() => writer.pending, config.maxPending) : undefined;
  const recorder = new Recorder({ config, context, writer, shedder, started: () => processRecorder.started() });
  // A crash still leaves its cassette, with the error that caused it, on the request whose code raised it.
  process.on('uncaughtExceptionMonitor', (error) => currentSession()?.annotate({ error }));
  onProcessEnd(() => {
    processRecorder.flushSync();
    recorder.flushSync();
  });
  return recorder;
}
