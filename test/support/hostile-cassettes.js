// Hostile cassettes for fuzzing: real recorded cassettes (examples/regression-suite) mutated
// anywhere (a field dropped, given a value of another type, nested past any bound, made huge),
// and then written as text, sometimes cut short or with a byte changed, sometimes gzipped into
// a bomb. `checkCassetteText` runs them through everything that reads a cassette and says what
// went wrong, if anything: only errors with a code are allowed, in bounded time.
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { ROOT } from './harness.js';

const SEEDS_DIR = path.join(ROOT, 'examples', 'regression-suite', 'cassettes');

/** The recorded cassettes the mutations start from, as parsed JSON. */
export function seedCassettes() {
  return fs
    .readdirSync(SEEDS_DIR, { recursive: true })
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => JSON.parse(fs.readFileSync(path.join(SEEDS_DIR, file), 'utf8')));
}

/** Paths into `value` (objects' keys, arrays' indexes), the root's `[]` first, down to MAX_PATH_DEPTH. */
const MAX_PATH_DEPTH = 64;

function pathsOf(value) {
  const paths = [];
  const stack = [[value, []]];
  while (stack.length) {
    const [node, at] = stack.pop();
    paths.push(at);
    if (node === null || typeof node !== 'object' || at.length >= MAX_PATH_DEPTH) continue;
    for (const key of Object.keys(node)) stack.push([node[key], [...at, Array.isArray(node) ? Number(key) : key]]);
  }
  return paths;
}

function nested(depth, leaf) {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { v: value };
  return value;
}

/** What can be put in a field's place: any JSON, a wrong type, a tag the codec knows with a bad payload, deep or huge values. */
const replacement = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 3, arbitrary: fc.constantFrom(null, 0, -1, 1e308, '', 'x', [], {}, true, false) },
  {
    weight: 3,
    arbitrary: fc.record({
      $tt: fc.constantFrom('Date', 'BigInt', 'Buffer', 'Map', 'Set', 'Number', 'Object', 'Uint8Array', 'Float64Array', 'Nope'),
      v: fc.jsonValue({ maxDepth: 2 }),
    }),
  },
  // Written into the text after stringifying, which could not nest this deep itself.
  { weight: 1, arbitrary: fc.integer({ min: 150, max: 20_000 }).map((depth) => `@@DEEP:${depth}@@`) },
  { weight: 1, arbitrary: fc.integer({ min: 64, max: 2048 }).map((kb) => 'x'.repeat(kb * 1024)) },
);

const mutation = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('replace'), pick: fc.nat(), value: replacement }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete'), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate'), pick: fc.nat() }) },
);

function mutate(base, mutations) {
  let json = structuredClone(base);
  for (const { kind, pick, value } of mutations) {
    const paths = pathsOf(json);
    const at = paths[pick % paths.length];
    if (at.length === 0) {
      if (kind === 'replace') json = value;
      continue;
    }
    const parent = at.slice(0, -1).reduce((node, key) => node[key], json);
    const key = at.at(-1);
    if (kind === 'replace') parent[key] = value;
    else if (kind === 'delete') Array.isArray(parent) ? parent.splice(key, 1) : delete parent[key];
    else if (Array.isArray(parent)) parent.push(structuredClone(parent[key]));
    else parent[`${key}_copy`] = structuredClone(parent[key]);
  }
  return json;
}

/** How the JSON becomes the file's bytes: whole, cut short, a byte changed, or gzipped (a file ending .gz). */
const damage = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'whole' }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut'), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('byte'), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }) },
);

/** A hostile cassette: `{ text }` for a .json file. */
export function hostileCassette(seeds) {
  return fc.tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 4 }), damage).map(([base, mutations, how]) => {
    const text = JSON.stringify(mutate(base, mutations)).replace(
      /"@@DEEP:(\d+)@@"/g,
      (_, depth) => `${'['.repeat(depth)}"deep"${']'.repeat(depth)}`,
    );
    if (how.kind === 'cut') return { text: text.slice(0, how.at % text.length) };
    if (how.kind === 'byte') {
      const bytes = Buffer.from(text);
      bytes[how.at % bytes.length] = how.byte;
      return { text: bytes.toString('latin1') };
    }
    return { text };
  });
}

/**
 * Runs `text` through what reads cassettes: the loader, and on success the catalog summary, the
 * CLI's views (list's row, show, diff against itself and against the seed), export, and replay's
 * matcher (every recorded call taken, a miss's nearest call). Returns the problem, or undefined.
 */
export async function cassetteChecker() {
  const { parseCassette } = await import('../../dist/src/cassette/store.js');
  const { summarise } = await import('../../dist/src/catalog/summaries.js');
  const { compareCassettes } = await import('../../dist/src/cli/compare.js');
  const { differenceLines, PLAIN_STYLE } = await import('../../dist/src/cli/format.js');
  const { summaryTable } = await import('../../dist/src/cli/commands/list.js');
  const { describeCassette } = await import('../../dist/src/cli/commands/show.js');
  const { encodeValue } = await import('../../dist/src/cassette/codec.js');
  const { Matcher } = await import('../../dist/src/replay/matcher.js');
  const { describeEvent } = await import('../../dist/src/replay/miss.js');
  const [seed] = seedCassettes();
  const reference = parseCassette(JSON.stringify(seed), 'seed.json');
  return (text) => {
    let cassette;
    try {
      cassette = parseCassette(text, 'fuzz.json');
    } catch (error) {
      return typeof error?.code === 'string' && error.message.startsWith('fuzz.json') ? undefined : `the loader threw ${describe(error)}`;
    }
    try {
      summaryTable([summarise(cassette, 'fuzz.json')]);
      describeCassette(cassette, 'fuzz.json', PLAIN_STYLE);
      if (cassette.request) {
        for (const other of [cassette, reference]) {
          for (const difference of compareCassettes(cassette, other)) differenceLines(difference, PLAIN_STYLE);
        }
      }
      JSON.stringify(encodeValue(cassette), null, 2);
      const matcher = new Matcher(cassette.events);
      for (const event of cassette.events) {
        describeEvent(event);
        matcher.take({ type: event.type, signature: event.signature });
        matcher.nearest({ type: event.type, signature: { ...event.signature, lib: 'other' } });
      }
    } catch (error) {
      return `a cassette the loader accepted broke a reader: ${describe(error)}`;
    }
    return undefined;
  };
}

function describe(error) {
  return error instanceof Error
    ? `${error.name}: ${error.message.slice(0, 200)}\n${error.stack?.split('\n').slice(1, 4).join('\n')}`
    : String(error);
}

const TAGS = [
  'Number',
  'BigInt',
  'undefined',
  'Date',
  'Buffer',
  'ArrayBuffer',
  'Map',
  'Set',
  'Object',
  'Uint8Array',
  'Int16Array',
  'Float64Array',
  'BigInt64Array',
];

/** JSON as a cassette holds typed values: tags (known, unknown, with any payload) anywhere in the tree. */
export const taggedJson = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 0 }),
    tie('tagged'),
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('tree'), { maxKeys: 4 }),
  ),
  tagged: fc.record({ $tt: fc.constantFrom(...TAGS, 'Nope'), v: tie('tree') }),
})).tree;

/** Values an app hands over, some of them hostile: getters that throw, revoked proxies, deep nesting. */
export const appValue = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.anything({
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withNullPrototype: true,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.string().map((field) => {
      const value = {};
      Object.defineProperty(value, field || 'x', {
        enumerable: true,
        get() {
          throw new Error('a getter that throws');
        },
      });
      return value;
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constant(null).map(() => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return { inside: [proxy] };
    }),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((depth) => nested(depth, 1)) },
);

/** The typed-value codec: decoding tagged JSON and encoding app values only ever fail with its own coded error. */
export async function codecChecker() {
  const { decodeValue, encodeValue } = await import('../../dist/src/cassette/codec.js');
  const coded = (error) => (error?.code === 'TIMETRACER_BAD_VALUE' ? undefined : `threw ${describe(error)}`);
  return {
    decode(json) {
      let value;
      try {
        value = decodeValue(json);
      } catch (error) {
        return coded(error);
      }
      try {
        encodeValue(value);
      } catch (error) {
        return `a decoded value could not be encoded again: ${describe(error)}`;
      }
      return undefined;
    },
    encode(value) {
      try {
        decodeValue(encodeValue(value));
      } catch (error) {
        return coded(error);
      }
      return undefined;
    },
  };
}

/**
 * Runs a property; on failure throws with the seed, the path to replay it and the error, never
 * the counterexample itself (a value thousands of levels deep, which fast-check's printer
 * cannot print).
 */
export function checkProperty(property, { seed, numRuns }) {
  const result = fc.check(property, { seed, numRuns });
  if (result.failed) {
    throw new Error(
      `failed after ${result.numRuns} inputs (seed ${seed}, path "${result.counterexamplePath}"): ${result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance)}`,
    );
  }
  return result;
}
