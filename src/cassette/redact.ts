/**
 * Secrets never reach a cassette: header, JSON field, form field and query parameter values
 * whose name is a secret's are replaced by "[REDACTED]" before anything is written. Names are
 * compared without case and separators (`x-api-key`, `apiKey` and `API_KEY` are one name); a
 * name on the list, or for fields one ending in a word that only names secrets (`sessionToken`,
 * `new_password`, `webhookSecret`), is a secret's: `password` is redacted, `password_hint` is
 * not. Headers keep their shape: `Bearer [REDACTED]`, `sid=[REDACTED]; Path=/`.
 *
 * The agent redacts with links (`linking()`): each secret becomes `[REDACTED:<8 hex>]`, a keyed
 * hash, so the same secret reads the same wherever the recording process wrote it (the token a
 * login answered, the one a later request sends, the session row the database read back) without
 * the cassette saying anything about the secret itself: the key is random and never leaves the
 * process. Query parameters are never linked: cassettes and calls are found by them. Replay
 * follows the links (see `replay/live-secrets.ts`).
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Headers } from './schema.js';

export const REDACTED = '[REDACTED]';
/** A linked secret as written: `[REDACTED:<hash>]`, or percent-encoded in form text; the hash captured (1 or 2). */
export const LINKED_SECRET = /\[REDACTED:([0-9a-f]{8})\]|%5BREDACTED%3A([0-9a-f]{8})%5D/g;

export const BUILT_IN_REDACTED_NAMES: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'api_key',
  'apikey',
  'x-auth-token',
  'x-access-token',
  'x-csrf-token',
  'password',
  'passwd',
  'pwd',
  'secret',
  'client_secret',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'auth_token',
  'session_token',
  'private_key',
  // Signed URLs (S3, Google Cloud Storage, Azure SAS) carry their credentials as query parameters.
  'x-amz-security-token',
  'x-amz-signature',
  'x-amz-credential',
  'x-goog-signature',
  'x-goog-credential',
  'sig',
  'signature',
];

/** Words that, ending a name, make it a secret's whatever comes before (`x-parse-session-token`). */
export const SECRET_NAME_ENDINGS: readonly string[] = ['token', 'secret', 'password', 'passwd', 'apikey', 'privatekey'];

/** `X-Api-Key`, `api_key`, `apiKey` -> `apikey`. */
function normalName(name: string): string {
  return name.toLowerCase().replace(/[-_.\s]/g, '');
}

/** The text with every linked marker made plain `[REDACTED]` (in percent-encoded text too). */
export function unlinkSecrets(text: string): string {
  return text.includes('REDACTED')
    ? text.replace(LINKED_SECRET, (marker: string) => (marker.startsWith('%') ? encodeURIComponent(REDACTED) : REDACTED))
    : text;
}

/** Whether a value is a redacted secret, linked or not: what the app reads where the recording redacted one. */
export function isRedacted(value: unknown): boolean {
  return value === REDACTED || (typeof value === 'string' && /^\[REDACTED:[0-9a-f]{8}\]$/.test(value));
}

/** A value of a secret's name that is redacted: booleans and nulls say nothing, and keep their type. */
export function isSecretValue(value: unknown): boolean {
  return value !== null && value !== undefined && typeof value !== 'boolean';
}

export class Redactor {
  private readonly names: ReadonlySet<string>;
  /** Finds any of the names anywhere: text without one has nothing to redact. */
  private readonly anyName: RegExp;

  /** Secret values redacted while `collectSecrets` runs. */
  private collected: string[] | undefined;

  /** `mark`: what a secret value becomes. */
  constructor(
    private readonly extraNames: readonly string[] = [],
    private readonly marker: (secret: string) => string = () => REDACTED,
  ) {
    this.names = new Set([...BUILT_IN_REDACTED_NAMES, ...extraNames].map(normalName));
    // Each name's longest word, found in any spelling of it (`api_key`, `apiKey` hold `api`).
    const words = [...BUILT_IN_REDACTED_NAMES, ...extraNames, 'api_key', 'private_key', 'passw'].map((name) =>
      name
        .split(/[-_.\s]+/)
        .sort((a, b) => b.length - a.length)[0]!
        .toLowerCase(),
    );
    this.anyName = new RegExp(
      [...new Set(words)]
        .filter(Boolean)
        .map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('|'),
      'i',
    );
  }

  /** The same names, each secret written as a link (see above), under a key of this process's. */
  linking(): Redactor {
    const key = randomBytes(32);
    return new Redactor(this.extraNames, (secret) =>
      secret ? `[REDACTED:${createHmac('sha256', key).update(secret).digest('hex').slice(0, 8)}]` : secret,
    );
  }

  /** What `describe` returns, and the secret values redacted while it ran (it runs synchronously). */
  collectSecrets<T>(describe: () => T): { value: T; secrets: string[] } {
    const outer = this.collected;
    const secrets: string[] = [];
    this.collected = secrets;
    try {
      return { value: describe(), secrets };
    } finally {
      this.collected = outer;
    }
  }

  /** A secret value as written: `[REDACTED]`, or its link. */
  redactValue(value: unknown): string {
    return this.mark(typeof value === 'object' && value !== null ? jsonOrText(value) : String(value));
  }

  private mark(secret: string): string {
    this.collected?.push(secret);
    return this.marker(secret);
  }

  /**
   * A name on the list, in any spelling: what database columns and Redis hash fields are judged
   * by. Their values are what the app reads back in replay, and a redacted one it uses as a key
   * (a session looked up by its token) would no longer find what it found live.
   */
  isSecret(name: string): boolean {
    return this.names.has(normalName(name));
  }

  /** A header, JSON, form or query field: on the list, or ending in a word that only names secrets. */
  isSecretField(name: string): boolean {
    const normal = normalName(name);
    return this.names.has(normal) || SECRET_NAME_ENDINGS.some((ending) => normal.endsWith(ending));
  }

  /** A secret header's value in its shape: the scheme of a credential, the names of cookies stay. */
  private headerValue(name: string, value: string): string {
    switch (name.toLowerCase()) {
      case 'authorization':
      case 'proxy-authorization': {
        const scheme = /^([A-Za-z][\w.+-]*)(\s+)(\S.*)$/.exec(value);
        return scheme ? `${scheme[1]}${scheme[2]}${this.mark(scheme[3]!)}` : this.mark(value);
      }
      case 'cookie':
        return value
          .split(';')
          .map((pair) => this.cookiePair(pair))
          .join(';');
      case 'set-cookie': {
        const end = value.indexOf(';');
        return end < 0 ? this.cookiePair(value) : `${this.cookiePair(value.slice(0, end))}${value.slice(end)}`;
      }
      default:
        return this.mark(value);
    }
  }

  private cookiePair(pair: string): string {
    const equals = pair.indexOf('=');
    return equals < 0 ? this.mark(pair) : `${pair.slice(0, equals + 1)}${this.mark(pair.slice(equals + 1))}`;
  }

  /** Headers: every value of a secret name redacted, in its shape. */
  headers(headers: Headers): Headers {
    const out: Headers = {};
    for (const [name, value] of Object.entries(headers)) {
      out[name] = this.isSecretField(name)
        ? Array.isArray(value)
          ? value.map((item) => this.headerValue(name, item))
          : this.headerValue(name, value)
        : value;
    }
    return out;
  }

  /** Deep copy of a parsed JSON value with secret fields replaced; `changed` tells if any were. */
  json(value: unknown): { value: unknown; changed: boolean } {
    let changed = false;
    const walk = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(walk);
      if (node === null || typeof node !== 'object') return node;
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(node)) {
        if (this.isSecretField(key) && isSecretValue(item)) {
          out[key] = this.mark(typeof item === 'string' ? item : JSON.stringify(item));
          changed = true;
        } else {
          out[key] = walk(item);
        }
      }
      return out;
    };
    return { value: walk(value), changed };
  }

  /** `a=1&password=x` -> `a=1&password=%5BREDACTED%5D`; returns the input when nothing is secret. */
  formText(text: string): string {
    const params = new URLSearchParams(text);
    let changed = false;
    for (const key of new Set(params.keys())) {
      if (!this.isSecretField(key)) continue;
      const values = params.getAll(key);
      params.delete(key);
      for (const value of values) params.append(key, this.mark(value));
      changed = true;
    }
    return changed ? params.toString() : text;
  }

  /**
   * Best effort for text that cannot be parsed (the start of a truncated body): `"name": value`
   * and `name=value` pairs with a secret name lose their value.
   */
  textFragment(text: string): string {
    // The pair-by-pair pass below costs ~1.5 ms on 64 KB of JSON; this test, a fraction of that.
    // A name may also be percent-encoded (`pass%77ord=`).
    if (!this.anyName.test(text) && !text.includes('%')) return text;
    return text
      .replace(/"((?:[^"\\]|\\.)*)"(\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\]\s]+)/g, (whole, name: string, colon: string) =>
        this.isSecretField(name) ? `"${name}"${colon}"${REDACTED}"` : whole,
      )
      .replace(/(^|[?&\s])([^=&?\s]+)=([^&\s]*)/g, (whole, lead: string, name: string) =>
        this.isSecretField(decodeURIComponentSafe(name)) ? `${lead}${name}=${encodeURIComponent(REDACTED)}` : whole,
      );
  }

  /** Query parameters: never linked, since replay finds a request's cassette by its query. */
  query(query: Record<string, string | string[]>): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(query))
      out[name] = this.isSecretField(name) ? (Array.isArray(value) ? value.map(() => REDACTED) : REDACTED) : value;
    return out;
  }
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** What a secret that is not text is linked by: its JSON, or its text where JSON cannot hold it (a bigint inside). */
function jsonOrText(value: object): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
