/**
 * Secrets were redacted when recorded, but an app that is replayed still uses them. The recording
 * linked each secret (see `Redactor.linking`): the token a login answered reads the same as the
 * one later requests sent, and as the session row the database gave back. Two users:
 * - a replay run learns, from each live response, the value now standing where the recorded
 *   response had a link (`data.access_token`, `set-cookie: sid=…`), and sends later requests that
 *   value in place of the link;
 * - the replaying agent learns, from the live inbound request, the value standing where the
 *   recorded request had a link, and hands the app recorded results with that value in place of
 *   the link (a logout that reads its session row back clears the session the client holds);
 *   and likewise from each call the app makes, where a secret told by its form stands in clear.
 * Links never learned become plain `[REDACTED]`, as the app saw them in record's place: password
 * checks against them replay from the recorded outcome.
 */
import { decodeBody, decodeContent } from '../cassette/body.js';
import { LINKED_SECRET, REDACTED } from '../cassette/redact.js';
import type { Body, Headers, JsonValue, RecordedRequest, RecordedResponse } from '../cassette/schema.js';

/** A recorded request or response: where links stand. */
export type RecordedMessage = Pick<RecordedRequest | RecordedResponse, 'headers' | 'body'>;

/** The same message as it passed live: a request the app was sent, or a response it answered. */
export interface LiveMessage {
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A recorded request made ready to send: its links replaced. */
export interface RequestToSend {
  headers: Headers;
  body: Buffer;
}

const RAW_LINK = /\[REDACTED:([0-9a-f]{8})\]/g;

export class LiveSecrets {
  /** The live value of each link learned, by the link's hash. */
  private readonly values = new Map<string, string>();

  get size(): number {
    return this.values.size;
  }

  /** Learns what each link in the recorded message stands for in the live one. */
  learn(recorded: RecordedMessage, live: LiveMessage): void {
    for (const name in recorded.headers) {
      const value = recorded.headers[name]!;
      if (typeof value === 'string' ? !hasLink(value) : !value.some(hasLink)) continue;
      const candidates = [live.headers[name.toLowerCase()] ?? []].flat();
      for (const item of [value].flat()) {
        if (!hasLink(item)) continue;
        for (const candidate of candidates) if (this.align(item, candidate)) break;
      }
    }
    const body = recorded.body;
    if (!body || body.truncated || body.encoding === 'base64' || !holdsLink(body.data)) return;
    const text = decodeContent(live.body, headerText(live.headers['content-encoding'])).bytes.toString('utf8');
    if (body.encoding === 'utf8') {
      if (hasLink(body.data as string)) this.align(body.data as string, text);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    this.walk(body.data as JsonValue, parsed);
  }

  /**
   * Learns from a call as the app makes it now: a secret redacted by its form (a JWT the app
   * signed) stands in clear in the live call's signature where the recording has its link, so the
   * recorded results that hold the link (the row read back) get the live value.
   */
  learnCall(recorded: unknown, live: () => JsonValue): void {
    if (holdsLink(recorded)) this.walk(recorded as JsonValue, live());
  }

  /** The recorded request's headers and body, each link replaced by its live value, or by `[REDACTED]`. */
  request(recorded: Pick<RecordedRequest, 'headers' | 'body'>): RequestToSend {
    const headers: Headers = {};
    for (const [name, value] of Object.entries(recorded.headers))
      headers[name] = Array.isArray(value) ? value.map((item) => this.filled(item)) : this.filled(value);
    return { headers, body: decodeBody(recorded.body && this.filledBody(recorded.body)) };
  }

  /**
   * A recorded call's result with each link replaced, or the result itself when it holds none.
   * Only plain objects, arrays and strings are walked: bytes, dates and the like hold no link.
   */
  result(value: unknown): unknown {
    return holdsLink(value) ? this.filledValue(value) : value;
  }

  private filledValue(value: unknown): unknown {
    if (typeof value === 'string') return this.filled(value);
    if (Array.isArray(value)) return value.map((item) => this.filledValue(item));
    if (!isPlainObject(value)) return value;
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.filledValue(item)]));
  }

  private filledBody(body: Body): Body {
    if (body.encoding === 'base64') return body;
    if (body.encoding === 'json') return { ...body, data: this.filledValue(body.data) as Body['data'] };
    return { ...body, data: this.filled(body.data as string) };
  }

  /** Text with each link replaced: as it stands, or percent-encoded where the link was (form text). */
  private filled(text: string): string {
    if (!hasLink(text)) return text;
    return text.replace(LINKED_SECRET, (_marker: string, raw: string | undefined, encoded: string | undefined) => {
      const value = this.values.get(raw ?? encoded!) ?? REDACTED;
      return raw ? value : encodeURIComponent(value);
    });
  }

  private walk(recorded: JsonValue, live: unknown): void {
    if (typeof recorded === 'string') {
      if (!hasLink(recorded) || live === null || live === undefined) return;
      this.align(recorded, typeof live === 'string' ? live : JSON.stringify(live));
    } else if (Array.isArray(recorded)) {
      if (Array.isArray(live)) for (const [i, item] of recorded.entries()) this.walk(item, live[i]);
    } else if (recorded !== null && typeof recorded === 'object' && live !== null && typeof live === 'object' && !Array.isArray(live)) {
      for (const [key, item] of Object.entries(recorded)) this.walk(item, (live as Record<string, unknown>)[key]);
    }
  }

  /**
   * Lines up a recorded text holding links with the live text in its place (`sid=[REDACTED:…];
   * Path=/` with `sid=s%3A9f…; Path=/`): what surrounds the links must match; each link's value
   * is what stands between. False when the two do not line up.
   */
  private align(recorded: string, live: string): boolean {
    const hashes: string[] = [];
    const pattern = recorded
      .split(RAW_LINK)
      .map((part, i) => {
        if (i % 2 === 0) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        hashes.push(part);
        return '(.+?)';
      })
      .join('');
    const match = new RegExp(`^${pattern}$`, 's').exec(live);
    if (!match) return false;
    hashes.forEach((hash, i) => {
      // The first value seen stays: a later response that differs does not undo what requests were sent.
      if (!this.values.has(hash)) this.values.set(hash, match[i + 1]!);
    });
    return true;
  }
}

/** Recorded values known to hold no link: a cassette's results are served over and over, and never change. */
const linkFree = new WeakSet<object>();

function holdsLink(value: unknown): boolean {
  if (typeof value === 'string') return hasLink(value);
  if (value === null || typeof value !== 'object' || linkFree.has(value)) return false;
  const holds = Array.isArray(value) ? value.some(holdsLink) : isPlainObject(value) && Object.values(value).some(holdsLink);
  if (!holds) linkFree.add(value);
  return holds;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function hasLink(text: string): boolean {
  return text.includes('REDACTED%3A') || text.includes('[REDACTED:');
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
