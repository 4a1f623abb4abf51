/**
 * Secrets in Redis commands: passwords given to AUTH and HELLO, and hash fields named as secrets
 * (HSET user:1 password x), in what is sent and in what HGET, HMGET and HGETALL read back. The
 * live command is redacted the same way before it is matched, so replay still finds it.
 */
import type { Redactor } from '../../src/plugin.js';
import type { StoredReply } from './replies.js';

function textOf(value: StoredReply | undefined): string | undefined {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && 'text' in value) return value.text;
  return undefined;
}

function isSecretField(redactor: Redactor, field: StoredReply | undefined): boolean {
  const name = textOf(field);
  return name !== undefined && redactor.isSecret(name);
}

/** The secret redacted in the form of the value it replaces: bytes stay bytes for the client's transformers. */
function redacted(value: StoredReply, redactor: Redactor): StoredReply {
  const marker = redactor.redactValue(textOf(value) ?? value);
  return value !== null && typeof value === 'object' && ('text' in value || 'bytes' in value) ? { text: marker } : marker;
}

/** Field/value pairs, the first field at `firstField`: values of secret fields replaced. */
function redactPairs(items: StoredReply[], firstField: number, redactor: Redactor): StoredReply[] {
  return items.map((item, i) =>
    i > firstField && (i - firstField) % 2 === 1 && isSecretField(redactor, items[i - 1]) ? redacted(item, redactor) : item,
  );
}

export function redactArgs(command: string, args: StoredReply[], redactor: Redactor): StoredReply[] {
  switch (command) {
    case 'auth':
      return args.map((arg) => redacted(arg, redactor));
    case 'hello': {
      const auth = args.findIndex((arg) => textOf(arg)?.toLowerCase() === 'auth');
      return auth < 0 ? args : args.map((arg, i) => (i === auth + 1 || i === auth + 2 ? redacted(arg, redactor) : arg));
    }
    case 'hset':
    case 'hmset':
    case 'hsetnx':
      return redactPairs(args, 1, redactor);
    default:
      return args;
  }
}

export function redactReply(command: string, args: StoredReply[], reply: StoredReply, redactor: Redactor): StoredReply {
  if (reply === null) return reply;
  switch (command) {
    case 'hget':
      return isSecretField(redactor, args[1]) ? redacted(reply, redactor) : reply;
    case 'hmget':
      return Array.isArray(reply)
        ? reply.map((value, i) => (value !== null && isSecretField(redactor, args[i + 1]) ? redacted(value, redactor) : value))
        : reply;
    case 'hgetall':
      if (Array.isArray(reply)) return redactPairs(reply, 0, redactor);
      if (typeof reply === 'object' && 'map' in reply) {
        return { map: reply.map.map(([field, value]) => [field, isSecretField(redactor, field) ? redacted(value, redactor) : value]) };
      }
      if (typeof reply === 'object' && 'object' in reply) {
        return {
          object: Object.fromEntries(
            Object.entries(reply.object).map(([field, value]) => [field, redactor.isSecret(field) ? redacted(value, redactor) : value]),
          ),
        };
      }
      return reply;
    default:
      return reply;
  }
}
