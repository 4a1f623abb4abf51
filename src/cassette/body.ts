/**
 * Bodies as cassettes hold them: JSON as a value (readable in the dashboard), text as text,
 * anything else as base64; secrets redacted, long bodies truncated with their size and hash kept.
 */
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import zlib from 'node:zlib';
import { TAG_KEY, markPlainJson } from './codec.js';
import type { Body, ContentCoding, JsonLayout } from './schema.js';
import { REDACTED, unlinkSecrets, type Redactor } from './redact.js';

/** A body as captured: its first bytes, and when it did not fit, its size and hash. */
export interface CapturedBody {
  bytes: Buffer;
  size: number;
  /** False when the body was longer than what was kept. */
  complete: boolean;
  /** sha256 (hex) of all the bytes, when not complete. */
  sha256?: string;
}

export interface BodyPolicy {
  maxBytes: number;
  redactor: Redactor;
}

export interface BodyMeta {
  contentType?: string | undefined;
  contentEncoding?: string | undefined;
}

const CODINGS: Record<string, ContentCoding> = { gzip: 'gzip', 'x-gzip': 'gzip', deflate: 'deflate', br: 'br' };

/** `partial`: the bytes are the start of a longer stream; decode what they hold. */
function decompress(coding: ContentCoding, bytes: Buffer, partial: boolean): Buffer {
  const flush = partial ? { finishFlush: zlib.constants.Z_SYNC_FLUSH } : {};
  switch (coding) {
    case 'gzip':
      return zlib.gunzipSync(bytes, flush);
    // "deflate" in HTTP is zlib-wrapped, but servers send raw deflate too.
    case 'deflate':
      return bytes[0] !== undefined && (bytes[0] & 0x0f) === 8 ? zlib.inflateSync(bytes, flush) : zlib.inflateRawSync(bytes, flush);
    case 'br':
      return zlib.brotliDecompressSync(bytes, partial ? { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH } : {});
  }
}

/**
 * A body's bytes as sent with this Content-Encoding, decoded, and the coding they were decoded
 * from; as they came when the coding is unknown or the stream is not one (mislabelled, cut off).
 * `partial`: the bytes are the start of a longer stream.
 */
export function decodeContent(
  bytes: Buffer,
  contentEncoding: string | undefined,
  partial = false,
): { bytes: Buffer; decodedFrom?: ContentCoding } {
  const coding = contentEncoding ? CODINGS[contentEncoding.trim().toLowerCase()] : undefined;
  if (!coding) return { bytes };
  try {
    return { bytes: decompress(coding, bytes, partial), decodedFrom: coding };
  } catch {
    return { bytes };
  }
}

function compress(coding: ContentCoding, bytes: Buffer): Buffer {
  switch (coding) {
    case 'gzip':
      return zlib.gzipSync(bytes);
    case 'deflate':
      return zlib.deflateSync(bytes);
    case 'br':
      return zlib.brotliCompressSync(bytes);
  }
}

function isJsonType(contentType: string): boolean {
  return /[/+]json\b/i.test(contentType);
}

function isFormType(contentType: string): boolean {
  return /^application\/x-www-form-urlencoded\b/i.test(contentType);
}

function isBinaryType(contentType: string): boolean {
  return /^(image|audio|video|font)\/|^application\/(octet-stream|zip|gzip|pdf|x-protobuf|protobuf|grpc)/i.test(contentType);
}

/**
 * The layout that JSON.stringify needs to give back `text` exactly from its parsed value, or
 * undefined when none does (big numbers rounded, escapes rewritten, irregular spacing).
 */
function jsonLayout(text: string, parsed: unknown): JsonLayout | undefined {
  const newline = text.endsWith('\n');
  const secondLine = /\n([ \t]*)\S/.exec(text);
  const layout: JsonLayout = { indent: secondLine ? secondLine[1]! : '', newline };
  return serialiseJson(parsed, layout) === text ? layout : undefined;
}

function serialiseJson(value: unknown, layout: JsonLayout | undefined): string {
  const text = JSON.stringify(value, null, layout?.indent || undefined);
  return layout?.newline ? `${text}\n` : text;
}

const MULTIPART_BOUNDARY = /^multipart\/[\w.+-]+;.*\bboundary="?([^";]+)"?/i;
const BOUNDARY_TOKEN = 'timetracer-boundary';

/**
 * multipart bodies: fields with a secret name lose their value. Worked on as latin1, which maps
 * bytes to characters one to one, so binary parts come through untouched.
 */
function redactMultipart(bytes: Buffer, boundary: string, policy: BodyPolicy): Buffer {
  const text = bytes.toString('latin1');
  const parts = text.split(`--${boundary}`);
  let changed = false;
  const redacted = parts.map((part) => {
    const headEnd = part.indexOf('\r\n\r\n');
    const name = headEnd < 0 ? undefined : /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(part.slice(0, headEnd))?.[1];
    if (name === undefined || !policy.redactor.isSecretField(name)) return part;
    changed = true;
    const tail = part.endsWith('\r\n') ? '\r\n' : '';
    return `${part.slice(0, headEnd + 4)}${REDACTED}${tail}`;
  });
  return changed ? Buffer.from(redacted.join(`--${boundary}`), 'latin1') : bytes;
}

/**
 * What a redacted body is hashed as: with its secrets plain `[REDACTED]`, linked or not, so that
 * replay, which redacts without links, finds the recorded request by the same hash.
 */
function unlinkedBytes(redacted: string): Buffer {
  return Buffer.from(unlinkSecrets(redacted));
}

interface Stored {
  encoding: Body['encoding'];
  data: unknown;
  /** The bytes `data` stands for, as measured for truncation. */
  bytes: Buffer;
  /** The bytes hashed, where not `bytes`: multipart bodies without their random boundary, redacted ones without links. */
  hashed?: Buffer;
  layout?: JsonLayout;
}

function classify(raw: Buffer, contentType: string, policy: BodyPolicy): Stored {
  const boundary = MULTIPART_BOUNDARY.exec(contentType)?.[1];
  const bytes = boundary ? redactMultipart(raw, boundary, policy) : raw;
  const hashed = boundary ? Buffer.from(bytes.toString('latin1').split(boundary).join(BOUNDARY_TOKEN), 'latin1') : undefined;
  if (isBinaryType(contentType) || !isUtf8(bytes)) return { encoding: 'base64', data: bytes.toString('base64'), bytes, hashed };
  const text = bytes.toString('utf8');
  const first = text.trimStart()[0];
  if (!boundary && (isJsonType(contentType) || first === '{' || first === '[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      const layout = jsonLayout(text, parsed);
      const { value, changed } = policy.redactor.json(parsed);
      // The parsed value is kept where it gives back the same text; otherwise the exact text,
      // unless a secret had to go.
      if (layout || changed) {
        if (!text.includes(`"${TAG_KEY}"`)) markPlainJson(value);
        const redacted = changed ? serialiseJson(value, layout) : undefined;
        const stored: Stored = { encoding: 'json', data: value, bytes: redacted === undefined ? bytes : Buffer.from(redacted) };
        if (redacted !== undefined) stored.hashed = unlinkedBytes(redacted);
        if (layout && (layout.indent || layout.newline)) stored.layout = layout;
        return stored;
      }
      return { encoding: 'utf8', data: text, bytes };
    } catch {
      // Not JSON after all: stored as text below.
    }
  }
  if (isFormType(contentType)) {
    const redacted = policy.redactor.formText(text);
    return redacted === text
      ? { encoding: 'utf8', data: text, bytes }
      : { encoding: 'utf8', data: redacted, bytes: Buffer.from(redacted), hashed: unlinkedBytes(redacted) };
  }
  return { encoding: 'utf8', data: text, bytes, hashed };
}

/** A body as captured from the wire -> a cassette body; null when there is no body. */
export function encodeBody(captured: CapturedBody, meta: BodyMeta, policy: BodyPolicy): Body | null {
  if (captured.size === 0) return null;
  const { bytes: decoded, decodedFrom } = decodeContent(captured.bytes, meta.contentEncoding, !captured.complete);
  const contentType = meta.contentType ?? '';
  if (!captured.complete) return truncatedBody(decoded, captured, contentType, decodedFrom, policy);
  const stored = classify(decoded, contentType, policy);
  const body: Body = {
    encoding: stored.encoding,
    data: stored.data as Body['data'],
    truncated: false,
    size_bytes: captured.size,
    sha256: createHash('sha256')
      .update(stored.hashed ?? stored.bytes)
      .digest('hex'),
  };
  if (stored.layout) body.json_layout = stored.layout;
  if (stored.bytes.length > policy.maxBytes) {
    body.truncated = true;
    body.data = cut(stored.bytes, stored.encoding, policy);
    if (body.encoding === 'json') body.encoding = 'utf8';
    delete body.json_layout;
  }
  if (decodedFrom) body.content_encoding = decodedFrom;
  return body;
}

/** The start of a body too long to keep whole: text or base64, with what secrets it shows removed. */
function truncatedBody(
  head: Buffer,
  captured: CapturedBody,
  contentType: string,
  decodedFrom: ContentCoding | undefined,
  policy: BodyPolicy,
): Body {
  const text = !isBinaryType(contentType) && isUtf8(textStart(head));
  const body: Body = {
    encoding: text ? 'utf8' : 'base64',
    data: cut(head, text ? 'utf8' : 'base64', policy),
    truncated: true,
    size_bytes: captured.size,
    sha256: captured.sha256 ?? createHash('sha256').update(captured.bytes).digest('hex'),
  };
  if (decodedFrom) body.content_encoding = decodedFrom;
  return body;
}

/** The bytes minus a multi-byte character cut in half at the end. */
function textStart(bytes: Buffer): Buffer {
  for (let drop = 0; drop < 4 && drop < bytes.length; drop++) {
    const candidate = bytes.subarray(0, bytes.length - drop);
    if (isUtf8(candidate)) return candidate;
  }
  return bytes;
}

function cut(bytes: Buffer, encoding: Body['encoding'], policy: BodyPolicy): string {
  const head = bytes.subarray(0, policy.maxBytes);
  if (encoding === 'base64') return head.toString('base64');
  return policy.redactor.textFragment(textStart(head).toString('utf8'));
}

export class TruncatedBodyError extends Error {
  override name = 'TruncatedBodyError';
}

/**
 * A cassette body -> the bytes to hand the app (compressed again if it travelled compressed).
 * Throws TruncatedBodyError for a truncated body unless `asFarAsKept`.
 */
export function decodeBody(body: Body | null, { asFarAsKept = false } = {}): Buffer {
  if (body === null) return Buffer.alloc(0);
  // A body sent only in part anyway (a response that broke off) may be served as far as it was kept.
  if (body.truncated && !asFarAsKept) {
    throw new TruncatedBodyError(
      `the body was truncated when recorded (${body.size_bytes} bytes, TIMETRACER_MAX_BODY_KB too small); record again with a larger limit`,
    );
  }
  const bytes =
    body.encoding === 'json'
      ? Buffer.from(serialiseJson(body.data, body.json_layout))
      : body.encoding === 'base64'
        ? Buffer.from(body.data as string, 'base64')
        : Buffer.from(body.data as string, 'utf8');
  return body.content_encoding ? compress(body.content_encoding, bytes) : bytes;
}
