/**
 * Commands on cassettes in S3. An `s3://` directory (--dir, or TIMETRACER_DIR) is brought into a
 * local copy of timetracer's own first, the command runs on the copy, and what `prune` deleted
 * from the copy is deleted from S3 too. A cassette named by an `s3://` URL (show, diff, export)
 * is downloaded on its own.
 */
import path from 'node:path';
import { describeError } from '../log.js';
import { formatS3Location, isS3Location, parseS3Location, S3Store, S3Unavailable, type S3Location } from '../remote/s3.js';
import { download, localFolderFor, localObjects, writeWhole } from '../remote/sync.js';
import { CliError, type Command } from './command.js';

type Values = Parameters<Command['run']>[0];

/** The location, or a clear error naming what was given. */
function locationOf(text: string, what: string): S3Location {
  const location = parseS3Location(text);
  if (!location) throw new CliError(`${what} ${JSON.stringify(text)} is not an S3 location; use s3://bucket or s3://bucket/prefix`);
  return location;
}

export async function openStore(location: S3Location): Promise<S3Store> {
  try {
    return await S3Store.open(location);
  } catch (error) {
    if (error instanceof S3Unavailable) throw new CliError(error.message);
    throw error;
  }
}

/** Runs `run` on local copies of the command's s3:// directory and cassettes; the rest as given. */
export async function onLocalCopies(
  command: Command,
  values: Values,
  positionals: string[],
  run: (values: Values, positionals: string[]) => Promise<number> | number,
): Promise<number> {
  const dir = 'dir' in command.options ? ((values.dir as string | undefined) ?? process.env.TIMETRACER_DIR) : undefined;
  const remoteDir = dir !== undefined && isS3Location(dir) ? locationOf(dir, '--dir') : undefined;
  const local = [...positionals];
  for (const [i, given] of positionals.entries()) {
    if (command.cassetteArguments && isS3Location(given)) local[i] = await downloadOne(locationOf(given, 'the cassette'));
  }
  if (!remoteDir) return run(values, local);
  const store = await openStore(remoteDir);
  try {
    const copy = localFolderFor(remoteDir, 'cache');
    await attempt(remoteDir, () => download(store, copy, { mirror: true }));
    const before = localObjects(copy).map((object) => object.path);
    const following = command.followsDir ? follow(store, copy) : undefined;
    let code: number;
    try {
      code = await run({ ...values, dir: copy }, local);
    } finally {
      clearInterval(following);
    }
    const held = new Set(localObjects(copy).map((object) => object.path));
    // What the command deleted (prune); a command following the location only mirrors it.
    const deleted = command.followsDir ? [] : before.filter((file) => !held.has(file));
    if (deleted.length) {
      await attempt(remoteDir, () => store.delete(deleted));
      process.stdout.write(`Deleted ${deleted.length} file(s) from ${formatS3Location(remoteDir)} as well\n`);
    }
    return code;
  } finally {
    store.close();
  }
}

/** How often a command that runs until stopped (serve) copies its s3:// directory again. */
const FOLLOW_MS = 15_000;

/** Copies the location again every FOLLOW_MS: what is recorded meanwhile appears; a failure is said once. */
function follow(store: S3Store, copy: string): NodeJS.Timeout {
  let said = false;
  return setInterval(() => {
    download(store, copy, { mirror: true }).then(
      () => {
        said = false;
      },
      (error: unknown) => {
        if (said) return;
        said = true;
        process.stderr.write(`timetracer: could not read ${store} (${describeError(error)}); showing what was copied before\n`);
      },
    );
  }, FOLLOW_MS).unref();
}

/** One cassette at `s3://bucket/key`, downloaded into the local copy of its folder; its local path. */
async function downloadOne(url: S3Location): Promise<string> {
  const folder = { bucket: url.bucket, prefix: path.posix.dirname(url.prefix) === '.' ? '' : path.posix.dirname(url.prefix) };
  const name = path.posix.basename(url.prefix);
  const store = await openStore(folder);
  try {
    const bytes = await attempt(url, () => store.get(name));
    const file = path.join(localFolderFor(folder, 'cache'), name);
    writeWhole(file, bytes);
    return file;
  } finally {
    store.close();
  }
}

async function attempt<T>(location: S3Location, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new CliError(`could not reach ${formatS3Location(location)} (${describeError(error)})`);
  }
}
