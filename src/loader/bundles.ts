/**
 * Bundled apps. Package hooks attach where Node compiles a file under `node_modules/<package>/`
 * (hooks.ts); a bundler copies those files into the app's own script, where no hook sees them,
 * and the agent would record nothing of them without a word. This says so once, naming the hooked
 * packages the bundle holds and how to load them from node_modules instead.
 *
 * The main script is read once the app has begun loading, never on its start path, for what
 * esbuild leaves about the modules it copied in (bundle-marks.ts): the comment heading each one;
 * in a minified bundle, which keeps none, its source map's `sources`, else its license comments.
 * A minified bundle that names none of them is told by its first connection of its own
 * (own-connections.ts).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { type Instrumentation, packageRanges } from '../instrumentation.js';
import { debug, describeError, displayPath, warn } from '../log.js';
import { describeDestination } from '../net-address.js';
import { licensedPackages, readBundleMarks } from './bundle-marks.js';
import { type OwnConnectionWatch, watchOwnConnections } from './own-connections.js';
import { sourceMapPackages } from './source-map-sources.js';

const require = createRequire(import.meta.url);

/** What the main script turned out to be. */
type Finding =
  /** A bundle holding these hooked packages; `how` they were told. */
  | { kind: 'holding'; packages: string[]; how: string }
  /** A minified bundle that names none of its modules. */
  | { kind: 'unnamed' }
  | { kind: 'clear'; why: string };

/**
 * Looks, in the background, for hooked packages bundled into the app's main script, and says once
 * what it found. Never throws; a fault is one line, and the app runs on as it would.
 */
export function noticeBundledLibraries(instrumentations: readonly Instrumentation[]): void {
  try {
    const watch = watchOwnConnections(instrumentations, (error) => debug(`stopped watching connections (${describeError(error)})`));
    setImmediate(() => void inspectApp(instrumentations, watch));
  } catch (error) {
    debug(`could not look for bundled libraries (${describeError(error)})`);
  }
}

async function inspectApp(instrumentations: readonly Instrumentation[], watch: OwnConnectionWatch): Promise<void> {
  const file = mainScript();
  if (!file) return watch.stop();
  const where = displayPath(file);
  try {
    const finding = await inspectScript(file, hookedPackages(instrumentations));
    if (finding.kind === 'unnamed') {
      debug(`${where} is a minified bundle that names none of its modules; watching its first connection of its own`);
      watch.expect(file, (destination) => warn(ownConnectionLine(where, describeDestination(destination))));
      return;
    }
    watch.stop();
    if (finding.kind === 'holding') warn(holdingLine(where, finding.packages, finding.how));
    else debug(`${where} ${finding.why}`);
  } catch (error) {
    watch.stop();
    warn(`could not tell whether ${where} bundles libraries timetracer hooks (${describeError(error)})`);
  }
}

/** The file Node runs as the app (`node dist/app.js`, `node dist`), if there is one. */
function mainScript(): string | undefined {
  const entry = process.argv[1];
  if (!entry) return undefined;
  try {
    return require.resolve(path.resolve(entry));
  } catch {
    return undefined;
  }
}

/** The packages the instrumentations hook by file (builtins left out), each once, in declaration order. */
function hookedPackages(instrumentations: readonly Instrumentation[]): string[] {
  return [...new Set(instrumentations.flatMap(packageRanges).map(({ module }) => module))];
}

async function inspectScript(file: string, hooked: readonly string[]): Promise<Finding> {
  const marks = await readBundleMarks(file);
  const found = (packages: ReadonlySet<string>, how: string): Finding => {
    const held = hooked.filter((name) => packages.has(name));
    return held.length ? { kind: 'holding', packages: held, how } : { kind: 'clear', why: `bundles no library timetracer hooks (${how})` };
  };
  // esbuild names every module it copies in, or none (minified): any name means these are all.
  if (marks.namesModules) return found(marks.modulePackages, 'named by its module comments');
  const mapped =
    marks.sourceMap &&
    (await sourceMapPackages(file, marks.sourceMap, (error) =>
      debug(`source map of ${displayPath(file)} not read (${describeError(error)})`),
    ));
  if (mapped) return found(mapped, 'named by its source map');
  if (marks.licenseAt !== undefined) {
    const licensed = found(
      await licensedPackages(file, marks.licenseAt),
      'named by its license comments; being minified, it may hold more',
    );
    if (licensed.kind === 'holding') return licensed;
  }
  return marks.wrapsModules ? { kind: 'unnamed' } : { kind: 'clear', why: 'is not a bundle timetracer can see into' };
}

function holdingLine(where: string, packages: readonly string[], how: string): string {
  const flags = packages.map((name) => `--external:${name}`).join(' ');
  return (
    `${where} bundles ${packages.join(', ')} (${how}), which timetracer hooks only where they load from node_modules: ` +
    `inside the bundle nothing of them is recorded or replayed. Mark them external so they load from there: ` +
    `esbuild ${flags} (or --packages=external)`
  );
}

function ownConnectionLine(where: string, destination: string): string {
  return (
    `${where} is a bundle whose own code opened a connection to ${destination}, not through a library timetracer hooks: ` +
    `timetracer hooks libraries only where they load from node_modules, so the client bundled in it is not instrumented ` +
    `and nothing of it is recorded or replayed. Mark the bundled libraries external: esbuild --external:<package> ` +
    `(or --packages=external); built with --sourcemap, the bundle lets timetracer name them at start`
  );
}
