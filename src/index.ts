/**
 * timetracer's typed API: the cassette format and the pieces that read, match and replay it.
 * The agent itself is loaded with `node --import timetracer/register`.
 */
export * from './cassette/schema.js';
export { encodeValue, decodeValue } from './cassette/codec.js';
export { encodeBody, decodeBody, type BodyPolicy } from './cassette/body.js';
export { Redactor, REDACTED, BUILT_IN_REDACTED_NAMES } from './cassette/redact.js';
export { cassetteRelativePath, isCassetteFile } from './cassette/names.js';
export {
  CorruptCassetteError,
  listCassetteFilesSync,
  parseCassette,
  readCassetteFileSync,
  serialiseCassette,
  FileStore,
  type CassetteStore,
  type SerialisedCassette,
} from './cassette/store.js';
export { readConfig, type Config, type Mode } from './config.js';
export {
  defineInstrumentation,
  hook,
  type Hook,
  type Instrumentation,
  type InstrumentationContext,
  type ReplayOutcome,
} from './instrumentation.js';
export { ReplayMissError, REPLAY_MISS, type Lookup } from './calls.js';
export { matchKey } from './cassette/call-key.js';
export { valueDifferences, type ValueDifference } from './cassette/differences.js';
export { Matcher, type Nearest } from './replay/matcher.js';
export { CassetteLibrary, type RequestKey } from './replay/library.js';
export { describeCall } from './replay/miss.js';
export { TIMETRACER_VERSION } from './version.js';
