/**
 * A session's reads of the clock and of randomness, as streams: one per file that reads and kind
 * of read. Keyed by file, a library that reads more or less in replay (a driver timing a round
 * trip that replay never makes) cannot shift the values the app's own files get.
 */
import type { ReadKind, SessionReads } from '../cassette/schema.js';

export type ReadValue = number | string;

export interface ReadStream {
  /**
   * The value of this read: `live()`'s, recorded (record mode), or the recording's next for this
   * file and kind (replay mode; `live()`'s past the recording, or when `fits` refuses the recorded
   * value: a buffer of another length, say; and where the recording holds null, a read that
   * became a secret).
   */
  read(file: string, kind: ReadKind, live: () => ReadValue, fits?: (recorded: ReadValue) => boolean): ReadValue;
}

/** Record: keeps each read, up to `limit` in all and `perStream` per file and kind. */
export class ReadRecorder implements ReadStream {
  private readonly reads: SessionReads = {};
  private count = 0;

  constructor(
    private readonly limit: number,
    private readonly perStream = limit,
  ) {}

  read(file: string, kind: ReadKind, live: () => ReadValue): ReadValue {
    const value = live();
    if (this.count < this.limit) {
      const stream = ((this.reads[file] ??= {})[kind] ??= []);
      if (stream.length < this.perStream) {
        stream.push(value);
        this.count++;
      }
    }
    return value;
  }

  /** How many reads are kept. */
  get size(): number {
    return this.count;
  }

  /** What was read, for the cassette; undefined when nothing was. */
  recorded(): SessionReads | undefined {
    return this.count ? structuredClone(this.reads) : undefined;
  }
}

/** Replay: hands back the recorded values in order; past them, live values, counted by kind. */
export class ReadReplayer implements ReadStream {
  private readonly next = new Map<string, number>();
  /** Reads that got live values, by kind: past the recording, or unlike it. */
  readonly past: Partial<Record<ReadKind, number>> = {};

  /** `recorded`: the reads of the cassette the session is served from, asked for on the first read. */
  constructor(private readonly recorded: () => SessionReads | undefined) {}

  read(file: string, kind: ReadKind, live: () => ReadValue, fits: (recorded: ReadValue) => boolean = () => true): ReadValue {
    const stream = this.recorded()?.[file]?.[kind];
    const key = `${kind}\u0000${file}`;
    const at = this.next.get(key) ?? 0;
    const recorded = stream && at < stream.length ? stream[at] : undefined;
    if (recorded === null) {
      // A read that became a secret is not in the recording: drawn live, as expected.
      this.next.set(key, at + 1);
      return live();
    }
    if (recorded !== undefined && fits(recorded)) {
      this.next.set(key, at + 1);
      return recorded;
    }
    // From here on this stream is live: the code no longer reads what it read when recorded.
    if (stream) this.next.set(key, stream.length);
    this.past[kind] = (this.past[kind] ?? 0) + 1;
    return live();
  }

  /** `3 clock reads, 1 uuid read`, or undefined when every read was served from the recording. */
  describePast(): string | undefined {
    const parts = Object.entries(this.past).map(([kind, n]) => `${n} ${kind} read${n === 1 ? '' : 's'}`);
    return parts.length ? parts.join(', ') : undefined;
  }

  get pastCount(): number {
    return Object.values(this.past).reduce((n, count) => n + (count ?? 0), 0);
  }
}
