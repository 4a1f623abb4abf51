/** `timetracer sync <from> <to>`: copies cassettes between directories on disk and in S3, either way. */
import fs from 'node:fs';
import path from 'node:path';
import { formatS3Location, isS3Location, parseS3Location, type S3Location } from '../../remote/s3.js';
import { download, inCopyOrder, localFolderFor, localObjects, upload, writeWhole, type Copied } from '../../remote/sync.js';
import { describeError } from '../../log.js';
import { CliError, defineCommand } from '../command.js';
import { openStore } from '../remote-dirs.js';

export default defineCommand({
  name: 'sync',
  summary: 'copy cassettes between a directory and S3 (s3://bucket/prefix), either way',
  usage: `<from> <to>

<from> and <to> are cassette directories: a folder, or s3://bucket/prefix (credentials, region
and endpoint from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL_S3).
Copies the cassettes, segments and indexes <to> lacks or holds at another size; deletes nothing.`,
  options: {},
  async run(_values, positionals) {
    if (positionals.length !== 2) throw new CliError('name where to copy from and where to; see timetracer sync --help');
    const [from, to] = positionals as [string, string];
    const copied = await copy(from, to);
    process.stdout.write(`Copied ${copied.copied} file(s), ${Math.ceil(copied.bytes / 1024)} KB, from ${from} to ${to}\n`);
    return 0;
  },
});

function location(text: string): S3Location {
  const parsed = parseS3Location(text);
  if (!parsed) throw new CliError(`${JSON.stringify(text)} is not an S3 location; use s3://bucket or s3://bucket/prefix`);
  return parsed;
}

function folder(text: string): string {
  if (!fs.statSync(text, { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`${text} is not a directory`);
  return text;
}

async function copy(from: string, to: string): Promise<Copied> {
  if (!isS3Location(from) && !isS3Location(to)) return copyLocal(folder(from), to);
  if (!isS3Location(from)) return onStore(location(to), (store) => upload(folder(from), store));
  if (!isS3Location(to)) return onStore(location(from), (store) => download(store, to));
  // Between two locations: through a local copy of the first.
  const between = localFolderFor(location(from), 'cache');
  await onStore(location(from), (store) => download(store, between, { mirror: true }));
  return onStore(location(to), (store) => upload(between, store));
}

async function onStore<T>(where: S3Location, work: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> {
  const store = await openStore(where);
  try {
    return await work(store);
  } catch (error) {
    throw new CliError(`could not reach ${formatS3Location(where)} (${describeError(error)})`);
  } finally {
    store.close();
  }
}

function copyLocal(from: string, to: string): Copied {
  const held = new Map(localObjects(to).map((object) => [object.path, object.size]));
  let copied = 0;
  let bytes = 0;
  for (const object of inCopyOrder(localObjects(from))) {
    if (held.get(object.path) === object.size) continue;
    writeWhole(path.join(to, ...object.path.split('/')), fs.readFileSync(path.join(from, ...object.path.split('/'))));
    copied++;
    bytes += object.size;
  }
  return { copied, bytes };
}
