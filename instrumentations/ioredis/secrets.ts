/**
 * Secrets in Redis commands, in any case: passwords given to AUTH, HELLO, MIGRATE, CONFIG SET
 * (requirepass, masterauth) and ACL SETUSER, hash fields named as secrets (HSET user:1
 * password x) and values under keys whose last part is (SET user:1:api_key x), in what is sent
 * and in what HGET, HMGET, HGETALL, GET and MGET read back. The live command
 * is redacted the same way before it is matched, so replay still finds it.
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

/** A key whose last part names a secret (`session:1:api_key`): the value under it is one. */
function isSecretKey(redactor: Redactor, key: StoredReply | undefined): boolean {
  const name = textOf(key);
  return name !== undefined && redactor.isSecret(name.split(/[:./]/).pop() ?? '');
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

/** The arguments after `keyword` (in any case), `count` of them, redacted. */
function redactAfter(args: StoredReply[], keyword: string, count: number, redactor: Redactor): StoredReply[] {
  const at = args.findIndex((arg) => textOf(arg)?.toLowerCase() === keyword);
  return at < 0 ? args : args.map((arg, i) => (i > at && i <= at + count ? redacted(arg, redactor) : arg));
}

/** ACL SETUSER rules that set a password: `>password`, `<password`, `#hash` and `!hash`. */
function redactAclRules(args: StoredReply[], redactor: Redactor): StoredReply[] {
  if (textOf(args[0])?.toLowerCase() !== 'setuser') return args;
  return args.map((arg, i) => {
    const rule = textOf(arg);
    return i > 1 && rule !== undefined && /^[<>#!]/.test(rule) ? `${rule[0]}${redactor.redactValue(rule.slice(1))}` : arg;
  });
}

/**
 * `command` as the app wrote it: `redis.auth(pw)` names it `auth`, `redis.call('AUTH', pw)` and
 * a hand-built Command `AUTH`; both are one command to Redis.
 */
export function redactArgs(command: string, args: StoredReply[], redactor: Redactor): StoredReply[] {
  switch (command.toLowerCase()) {
    case 'auth':
      return args.map((arg) => redacted(arg, redactor));
    case 'hello':
      return redactAfter(args, 'auth', 2, redactor);
    case 'migrate':
      return redactAfter(redactAfter(args, 'auth', 1, redactor), 'auth2', 2, redactor);
    case 'config':
      // CONFIG SET requirepass x masterauth y: the values of secret parameters.
      return textOf(args[0])?.toLowerCase() === 'set' ? redactPairs(args, 1, redactor) : args;
    case 'acl':
      return redactAclRules(args, redactor);
    case 'hset':
    case 'hmset':
    case 'hsetnx':
      return redactPairs(args, 1, redactor);
    case 'set':
    case 'setnx':
    case 'getset':
      return isSecretKey(redactor, args[0]) ? args.map((arg, i) => (i === 1 ? redacted(arg, redactor) : arg)) : args;
    case 'setex':
    case 'psetex':
      return isSecretKey(redactor, args[0]) ? args.map((arg, i) => (i === 2 ? redacted(arg, redactor) : arg)) : args;
    case 'mset':
    case 'msetnx':
      return args.map((arg, i) => (i % 2 === 1 && isSecretKey(redactor, args[i - 1]) ? redacted(arg, redactor) : arg));
    default:
      return args;
  }
}

export function redactReply(command: string, args: StoredReply[], reply: StoredReply, redactor: Redactor): StoredReply {
  if (reply === null) return reply;
  switch (command.toLowerCase()) {
    case 'hget':
      return isSecretField(redactor, args[1]) ? redacted(reply, redactor) : reply;
    case 'get':
    case 'getdel':
    case 'getex':
    case 'getset':
      return isSecretKey(redactor, args[0]) ? redacted(reply, redactor) : reply;
    case 'mget':
      return Array.isArray(reply)
        ? reply.map((value, i) => (value !== null && isSecretKey(redactor, args[i]) ? redacted(value, redactor) : value))
        : reply;
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
