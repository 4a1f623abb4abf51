/**
 * Cassettes named on the command line: a file path (or `<segment>#<offset>`), or the id (or its first characters, as the
 * `[OK] recorded ... id=88d7` line shows it) or relative path of a cassette in the directory.
 */
import fs from 'node:fs';
import type { CassetteCatalog } from '../catalog/catalog.js';
import { CliError } from './command.js';
import { openCatalog } from './commands/list.js';
import { CorruptCassetteError, parseCassette, readCassetteTextSync } from '../cassette/store.js';
import type { AnyCassette } from '../cassette/schema.js';
import { splitSegmentRef } from '../cassette/segment.js';

export interface LoadedCassette {
  file: string;
  /** The file's JSON text as written (unzipped for .json.gz). */
  text: string;
  cassette: AnyCassette;
}

export const DIR_OPTION_HELP = '--dir D        where to look up a cassette given by id (default: TIMETRACER_DIR or ./cassettes)';

export class CassetteLocator {
  private catalog: CassetteCatalog | undefined;

  constructor(private readonly dir: string | undefined) {}

  /** Reads and checks the cassette; a missing or corrupt one is a CliError of one line. */
  load(name: string): LoadedCassette {
    const file = this.locate(name);
    try {
      const text = readCassetteTextSync(file);
      return { file, text, cassette: parseCassette(text, file) };
    } catch (error) {
      if (error instanceof CorruptCassetteError) throw new CliError(error.message.replace(/\s*\n\s*/g, ' '));
      throw error;
    }
  }

  private locate(name: string): string {
    const stat = statOf(name);
    if (stat?.isFile()) return name;
    const inSegment = splitSegmentRef(name);
    if (inSegment && statOf(inSegment.segment)?.isFile()) return name;
    if (stat?.isDirectory()) throw new CliError(`${name} is a directory; name a cassette file or id`);
    const root = this.dir ?? process.env.TIMETRACER_DIR ?? './cassettes';
    if (!statOf(root)?.isDirectory())
      throw new CliError(`${name}: no such cassette file (and no cassette directory at ${root} to look it up by id)`);
    this.catalog ??= openCatalog(root);
    const found = this.catalog.find(name) ?? this.byIdPrefix(name);
    if (!found) throw new CliError(`${name}: no such cassette file, and no cassette with that id or path in ${root}`);
    return this.catalog.pathOf(found);
  }

  private byIdPrefix(prefix: string): ReturnType<CassetteCatalog['find']> {
    const wanted = prefix.toLowerCase();
    if (!wanted) return undefined;
    const matches = this.catalog!.query({ text: wanted, limit: Number.POSITIVE_INFINITY }).items.filter((s) => s.id.startsWith(wanted));
    if (matches.length > 1)
      throw new CliError(`${prefix} is the start of ${matches.length} cassette ids in ${this.catalog!.dir}; give more of it`);
    return matches[0];
  }
}

function statOf(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}
