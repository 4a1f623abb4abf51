/**
 * Record mode: the process session. Every call made outside a request (at start-up, from timers,
 * a pool's warm-up, a client's own health checks) goes into the process's own cassette, which is
 * written as the process runs: when it first listens (its start-up), then every few seconds while
 * there is something new, and at exit, so a crash or SIGKILL loses at most the last interval.
 * It is bounded: once it holds `maxEvents` calls, a call whose signature it already holds is
 * counted on that call (`repeats`), not stored again, and a call with a new one is left out.
 */
import { roundMs, SCHEMA_VERSION, type DependencyEvent, type EventType, type ProcessCassette } from '../cassette/schema.js';
import { Session, setProcessSession } from '../context.js';
import type { CassetteContext } from '../inbound/cassette.js';
import { ENTRY } from '../inbound/cassette.js';
import { describeError, displayPath, info, warn } from '../log.js';
import { eventKey } from '../cassette/call-key.js';
import { ReadRecorder } from '../determinism/streams.js';
import { CallLog } from './call-log.js';
import type { CassetteWriter } from './writer.js';

/** How often the process cassette is written again when it has changed. */
const WRITE_INTERVAL_MS = 5_000;

export interface ProcessRecorderOptions {
  context: CassetteContext;
  writer: CassetteWriter;
  maxEvents: number;
  /** Keep what the process reads from the clock and randomness outside requests. */
  determinism: boolean;
}

/** Clock and random reads kept outside requests: in all, and per file and kind (a timer reads on and on). */
const MAX_PROCESS_READS = 5_000;
const MAX_PROCESS_READS_PER_STREAM = 200;

export class ProcessRecorder {
  readonly session = new Session('process');
  private readonly log = new CallLog(this.session.t0);
  private readonly events: DependencyEvent[] = [];
  /** The latest event kept for each call signature. */
  private readonly byKey = new Map<string, DependencyEvent>();
  private readonly reads: ReadRecorder | undefined;
  private changed = false;
  private readsWritten = 0;
  private announced = false;
  private faultSaid = false;
  private leftOut = 0;

  constructor(private readonly options: ProcessRecorderOptions) {
    this.session.calls = this.log;
    this.reads = options.determinism ? new ReadRecorder(MAX_PROCESS_READS, MAX_PROCESS_READS_PER_STREAM) : undefined;
    this.session.reads = this.reads;
    setProcessSession(this.session);
    setInterval(() => this.write(), WRITE_INTERVAL_MS).unref();
  }

  /** The app listens: its start-up is over, and what it did is written now. */
  started(): void {
    this.write();
  }

  /** The process is exiting: hands the last write to the writer (which the caller then flushes). */
  flushSync(): void {
    this.write();
  }

  private write(): void {
    try {
      this.take();
      const reads = this.reads?.size ?? 0;
      if (!this.changed && reads === this.readsWritten) return;
      this.changed = false;
      this.readsWritten = reads;
      this.options.writer.submit(this.cassette(), (file) => this.announce(file), { replace: true });
    } catch (error) {
      if (this.faultSaid) return;
      this.faultSaid = true;
      warn(`could not write the process cassette (${describeError(error)}); the app is unaffected`);
    }
  }

  /** Moves the calls that have ended from the log into the cassette's events, within the bound. */
  private take(): void {
    for (const event of this.log.takeEnded(this.events.length + 1)) {
      const key = eventKey(event);
      const held = this.byKey.get(key);
      if (this.events.length >= this.options.maxEvents) {
        if (held) held.repeats = (held.repeats ?? 0) + 1;
        else if (this.leftOut++ === 0)
          warn(
            `the process cassette holds TIMETRACER_PROCESS_MAX_EVENTS=${this.options.maxEvents} calls; calls outside requests unlike those are no longer kept`,
          );
        this.changed = true;
        continue;
      }
      this.events.push(event);
      this.byKey.set(key, event);
      this.changed = true;
    }
  }

  private cassette(): ProcessCassette {
    const { context } = this.options;
    const events = [...this.events].sort((a, b) => a.start_offset_ms - b.start_offset_ms).map((event, i) => ({ ...event, eid: i + 1 }));
    const eventCounts: Partial<Record<EventType, number>> = {};
    for (const event of events) eventCounts[event.type] = (eventCounts[event.type] ?? 0) + 1;
    const reads = this.reads?.recorded();
    return {
      schema_version: SCHEMA_VERSION,
      session: {
        id: this.session.id,
        kind: 'process',
        recorded_at: this.session.startedAt.toISOString(),
        service: context.service,
        env: context.env,
        framework: 'process',
        node: context.versions.node,
        timetracer: context.versions.timetracer,
        ...(ENTRY && { entry: ENTRY }),
        pid: process.pid,
      },
      request: null,
      response: null,
      events,
      ...(reads && { reads }),
      stats: { event_counts: eventCounts, total_ms: roundMs(this.session.elapsed()) },
    };
  }

  private announce(file: string): void {
    if (this.announced) return;
    this.announced = true;
    info(`timetracer process cassette: ${displayPath(file)} (calls made outside requests; written again as the process runs)`);
  }
}
