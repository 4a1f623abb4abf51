/**
 * Secrets never reach a cassette: header, JSON field, form field and query parameter values
 * whose name is on the list are replaced by "[REDACTED]" before anything is written. Names
 * match exactly, ignoring case: `password` is redacted, `password_hint` is not.
 */
import type { Headers } from './schema.js';

export const REDACTED = '[REDACTED]';

export const BUILT_IN_REDACTED_NAMES: readonly string[] = [
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie',
  'x-api-key', 'api-key', 'api_key', 'apikey', 'x-auth-token', 'x-access-token', 'x-csrf-token',
  'password', 'passwd', 'pwd', 'secret', 'client_secret', 'token', 'access_token', 'refresh_token',
  'id_token', 'auth_token', 'session_token', 'private_key',
  // Signed URLs (S3, Google Cloud Storage, Azure SAS) carry their credentials as query parameters.
  'x-amz-security-token', 'x-amz-signature', 'x-amz-credential', 'x-goog-signature', 'x-goog-credential', 'sig', 'signature',
];

export class Redactor {
  private readonly names: ReadonlySet<string>;
  /** Finds any of the names anywhere: text without one has nothing to redact. */
  private readonly anyName: RegExp;

  constructor(extraNames: readonly string[] = []) {
    this.names = new Set([...BUILT_IN_REDACTED_NAMES, ...extraNames].map((n) => n.toLowerCase()));
    this.anyName = new RegExp([...this.names].map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'i');
  }

  isSecret(name: string): boolean {
    return this.names.has(name.toLowerCase());
  }

  /** Headers, query parameters: every value of a secret name replaced. */
  headers(headers: Headers): Headers {
    const out: Headers = {};
    for (const [name, value] of Object.entries(headers)) {
      out[name] = this.isSecret(name) ? (Array.isArray(value) ? value.map(() => REDACTED) : REDACTED) : value;
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
        if (this.isSecret(key) && item !== null) {
          out[key] = REDACTED;
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
      if (!this.isSecret(key)) continue;
      const count = params.getAll(key).length;
      params.delete(key);
      for (let i = 0; i < count; i++) params.append(key, REDACTED);
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
        (this.isSecret(name) ? `"${name}"${colon}"${REDACTED}"` : whole))
      .replace(/(^|[?&\s])([^=&?\s]+)=([^&\s]*)/g, (whole, lead: string, name: string) =>
        (this.isSecret(decodeURIComponentSafe(name)) ? `${lead}${name}=${encodeURIComponent(REDACTED)}` : whole));
  }

  query(query: Record<string, string | string[]>): Record<string, string | string[]> {
    return this.headers(query);
  }
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
