/**
 * The agent with an `s3://` location: record writes into a local spool the writer's thread
 * uploads from, replay reads a local copy of the location brought up to date at start. Both
 * folders are timetracer's own (see localFolderFor); TIMETRACER_SPOOL_DIR puts the spool on a
 * disk that outlives the process, for a container whose temp folder does not.
 */
import type { Config } from '../config.js';
import { describeError, info, warn } from '../log.js';
import { formatS3Location, isS3Location, parseS3Location, S3Store, S3Unavailable, type S3Location } from './s3.js';
import { download, localFolderFor } from './sync.js';

export type RemoteFolders = { config: Config; remote?: S3Location } | { problem: string };

/** `config` with its `s3://` locations replaced by the local folders that stand for them. */
export async function withLocalFolders(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<RemoteFolders> {
  const variable = config.mode === 'record' ? 'TIMETRACER_DIR' : 'TIMETRACER_CASSETTE';
  const where = config.mode === 'record' ? config.dir : config.cassette;
  if (!isS3Location(where)) return { config };
  const location = parseS3Location(where);
  if (!location) return { problem: `${variable}=${JSON.stringify(where)} is not an S3 location; use s3://bucket or s3://bucket/prefix` };
  let store: S3Store;
  try {
    store = await S3Store.open(location, env);
  } catch (error) {
    if (error instanceof S3Unavailable) return { problem: `${variable}=${JSON.stringify(where)}: ${error.message}` };
    throw error;
  }
  if (config.mode === 'record') {
    store.close();
    return { config: { ...config, dir: env.TIMETRACER_SPOOL_DIR?.trim() || localFolderFor(location, 'spool') }, remote: location };
  }
  const cache = localFolderFor(location, 'cache');
  try {
    const { copied } = await download(store, cache, { mirror: true });
    info(`timetracer replay reads ${formatS3Location(location)} from ${cache} (${copied} new file(s) downloaded)`);
  } catch (error) {
    warn(`could not read ${formatS3Location(location)} (${describeError(error)}); replaying from what ${cache} already holds`);
  } finally {
    store.close();
  }
  return { config: { ...config, cassette: cache } };
}
