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
import { TAG_KEY } from './codec.js';
import type { Headers, JsonValue } from './schema.js';

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
  'api_token',
  'session_token',
  'private_key',
  // Redis server settings (CONFIG SET) that are passwords.
  'requirepass',
  'masterauth',
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

/**
 * Secrets told by their value, wherever they are and whatever they are named: what the names
 * miss (a JWT in a custom header, a key pasted into a field). Each is specific enough not to take
 * an ordinary value for a secret, since what is redacted no longer replays as it was.
 */
export const VALUE_PATTERNS = {
  /** A JSON Web Token: base64url header and payload (both JSON objects, so `eyJ`), and a signature. */
  jwt: /\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]+/g,
  /** An HTTP bearer credential, in any text: `Bearer <token>`. */
  bearer: /\b[Bb]earer\s+[\w.~+/-]{16,}=*/g,
  /** A PEM private key block. */
  privateKey: /-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z]+ )*PRIVATE KEY-----/g,
  /**
   * A payment card number, a whole string of it: 13 to 19 digits, spaces or dashes between groups
   * allowed, an issuer's first digit (2-6), and a valid Luhn check digit. A number inside other
   * text or a JSON number is left alone: ids and timestamps look alike too often.
   */
  card: /^[2-6]\d{3}(?:[ -]?\d){9,15}$/,
} as const;

export type ValuePattern = keyof typeof VALUE_PATTERNS;

/** Cheap test of a whole cassette's text: without any of these, no value can match a pattern. */
const PATTERN_HINTS = /eyJ|[Bb]earer|PRIVATE KEY|"[2-6]\d{3}[ -]?\d/;

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return sum % 10 === 0;
}

/** `text` with each match of the patterns in use replaced by `mark(match)`. */
function redactValuePatterns(text: string, patterns: readonly ValuePattern[], mark: (secret: string) => string): string {
  let out = text;
  for (const name of patterns) {
    if (name === 'card') {
      if (VALUE_PATTERNS.card.test(out) && luhnValid(out.replace(/[ -]/g, ''))) return mark(out);
      continue;
    }
    out = out.replace(VALUE_PATTERNS[name], (secret) => mark(secret));
  }
  return out;
}

/** `text` with each match of the built-in patterns in use, then of the custom ones, replaced by `mark(match)`. */
function redactPatterns(
  text: string,
  builtIn: readonly ValuePattern[],
  custom: readonly RegExp[],
  mark: (secret: string) => string,
): string {
  let out = redactValuePatterns(text, builtIn, mark);
  for (const pattern of custom) out = out.replace(pattern, (secret) => mark(secret));
  return out;
}

export const ALL_VALUE_PATTERNS = Object.keys(VALUE_PATTERNS) as ValuePattern[];

/** Patterns of the user's own (TIMETRACER_REDACT_FILE), each global: see `useCustomValuePatterns`. */
let customValuePatterns: readonly RegExp[] = [];

/** The user's own value patterns, for the agent's life: replay must hide them alike in live calls. */
export function useCustomValuePatterns(patterns: readonly RegExp[]): void {
  customValuePatterns = patterns.map(
    (pattern) => new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`),
  );
}

/**
 * Every value pattern, built-in and the user's, as plain `[REDACTED]`: how replay compares a live
 * call with a recorded one (both sides alike, whichever patterns the recording used).
 */
export function hideValuePatterns(text: string): string {
  return redactPatterns(text, ALL_VALUE_PATTERNS, customValuePatterns, () => REDACTED);
}

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

export interface ValuePatternPolicy {
  /** The built-in value patterns in use (all by default). */
  valuePatterns?: readonly ValuePattern[];
}

export class Redactor {
  private readonly names: ReadonlySet<string>;
  private readonly valuePatterns: readonly ValuePattern[];
  /** Finds any of the names anywhere: text without one has nothing to redact. */
  private readonly anyName: RegExp;

  /** Secret values redacted while `collectSecrets` runs. */
  private collected: string[] | undefined;

  /** `mark`: what a secret value becomes. */
  constructor(
    private readonly extraNames: readonly string[] = [],
    private readonly policy: ValuePatternPolicy = {},
    private readonly marker: (secret: string) => string = () => REDACTED,
  ) {
    this.valuePatterns = policy.valuePatterns ?? ALL_VALUE_PATTERNS;
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
    return new Redactor(this.extraNames, this.policy, (secret) =>
      secret ? `[REDACTED:${createHmac('sha256', key).update(secret).digest('hex').slice(0, 8)}]` : secret,
    );
  }

  /** The same redactor (its links alike) with more names: those secret in one library's data only. */
  withNames(names: readonly string[]): Redactor {
    return new Redactor([...this.extraNames, ...names], this.policy, this.marker);
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

  /**
   * Query parameters: never linked, since replay finds a request's cassette by its query; a value
   * that is a secret by its form too (a JWT), in replay as in record.
   */
  query(query: Record<string, string | string[]>): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    const value = (item: string): string => redactPatterns(item, this.valuePatterns, customValuePatterns, () => REDACTED);
    for (const [name, item] of Object.entries(query)) {
      if (this.isSecretField(name)) out[name] = Array.isArray(item) ? item.map(() => REDACTED) : REDACTED;
      else out[name] = Array.isArray(item) ? item.map(value) : value(item);
    }
    return out;
  }

  /**
   * A cassette's JSON with every string that holds a secret by its form (see VALUE_PATTERNS and
   * the user's patterns) redacted there, or `json` itself when its text shows there is none.
   * The last step before a cassette is written: it reaches what no name could, in any library's data.
   */
  valueSecrets(json: JsonValue, text: string): JsonValue {
    if (!PATTERN_HINTS.test(text) && !customValuePatterns.some((pattern) => text.search(pattern) >= 0)) return json;
    const redacted = (text: string): string => redactPatterns(text, this.valuePatterns, customValuePatterns, (secret) => this.mark(secret));
    const walk = (node: JsonValue, read: boolean): JsonValue => {
      // A clock or random read that is a secret is left out (null): replay draws it live.
      if (typeof node === 'string') return read ? (redacted(node) === node ? node : null) : redacted(node);
      if (node === null || typeof node !== 'object') return node;
      if (Array.isArray(node)) return node.map((item) => walk(item, read));
      const out: Record<string, JsonValue> = {};
      for (const [key, item] of Object.entries(node)) {
        out[key] = typeof item === 'string' && isTypedPayload(node, key) ? item : walk(item, read || (node === json && key === 'reads'));
      }
      return out;
    };
    return walk(json, false);
  }
}

/**
 * A string that is a typed value written as text, not text: the payload of a codec tag
 * (`{"$tt": "bigint", "v": "…"}`) or of an Extended JSON type (`{"$numberLong": "…"}`, a MongoDB
 * cursor id). Its digits are a number's, which a card pattern would take for a card's now and then.
 */
function isTypedPayload(node: { [key: string]: JsonValue }, key: string): boolean {
  return EXTENDED_JSON_NUMBERS.has(key) || (key === 'v' && TAG_KEY in node);
}

/** Extended JSON's types whose value is a number (or an ObjectId's hex) written as a string. */
const EXTENDED_JSON_NUMBERS = new Set(['$numberLong', '$numberInt', '$numberDouble', '$numberDecimal', '$oid']);

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
