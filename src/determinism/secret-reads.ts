/**
 * Random reads that became a secret. A session token made as `randomBytes(16).toString('hex')`,
 * redacted where the response carried it, would still be in the cassette as the bytes it was made
 * from. Such reads are written as null, and replay draws live values in their place: the app makes
 * a new token, which a replay run learns from the response and sends on (see `LiveSecrets`). A
 * read whose secret the cassette holds in plain elsewhere anyway (written to a column not named as
 * a secret's) is kept: nulling it would hide nothing, and replay would no longer match that call.
 */
import type { SessionReads } from '../cassette/schema.js';

/** Shorter encodings could turn up in a secret by chance. */
const MIN_FORM_LENGTH = 12;

/** How a read's value may stand inside a secret: bytes as hex or base64 (padded or not, url-safe); a uuid as it is. */
function formsOf(kind: string, value: number | string | null): string[] {
  if (typeof value !== 'string') return [];
  if (kind === 'uuid') return [value, value.replace(/-/g, '')];
  if (kind !== 'bytes') return [];
  const bytes = Buffer.from(value, 'base64');
  const base64 = bytes.toString('base64');
  return [bytes.toString('hex'), base64, base64.replace(/=+$/, ''), bytes.toString('base64url')];
}

/**
 * The reads, each one whose value stands inside one of `secrets` written as null, unless
 * `elsewhere()` (the rest of the cassette as text) holds it too.
 */
export function withoutSecretReads(reads: SessionReads, secrets: readonly string[], elsewhere: () => string): SessionReads {
  const candidates = secrets.filter((secret) => secret.length >= MIN_FORM_LENGTH);
  if (!candidates.length) return reads;
  let rest: string | undefined;
  const out: SessionReads = {};
  for (const [file, streams] of Object.entries(reads)) {
    const kept: SessionReads[string] = {};
    for (const [kind, values] of Object.entries(streams) as Array<[keyof SessionReads[string], Array<number | string | null>]>) {
      kept[kind] = values.map((value) => {
        const forms = formsOf(kind, value).filter((form) => form.length >= MIN_FORM_LENGTH);
        if (!forms.some((form) => candidates.some((secret) => secret.includes(form)))) return value;
        rest ??= elsewhere();
        return forms.some((form) => rest!.includes(form)) ? value : null;
      });
    }
    out[file] = kept;
  }
  return out;
}
