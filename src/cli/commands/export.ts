/** `timetracer export`: one cassette as a file of its own, indented, to share or keep beside a test. */
import fs from 'node:fs';
import path from 'node:path';
import { cassetteRelativePath } from '../../cassette/names.js';
import { serialiseCassette } from '../../cassette/store.js';
import { displayPath } from '../../log.js';
import { CliError, defineCommand } from '../command.js';
import { CassetteLocator, DIR_OPTION_HELP } from '../locate.js';

export default defineCommand({
  name: 'export',
  cassetteArguments: true,
  summary: 'write one cassette as a file of its own (from a segment, or a copy of a file), to share or keep',
  usage: `<cassette> [--out FILE] [--dir D]

<cassette> is a cassette file, a cassette in a segment (<segment>#<offset>, as list prints it),
or the id (or its first characters) of a cassette in the directory. The cassette is written
indented, as TIMETRACER_LAYOUT=files writes it, to ./<METHOD>__<path>__<id>.json unless --out
names the file; an existing file is never written over. Replay serves it alone with
TIMETRACER_CASSETTE=<file>, and timetracer show reads it.

Options:
  --out FILE     where to write it (a .json file)
  ${DIR_OPTION_HELP}`,
  options: {
    out: { type: 'string' },
    dir: { type: 'string' },
  },
  run(values, positionals) {
    if (positionals.length !== 1)
      throw new CliError('name one cassette (a file, a segment#offset, or an id in --dir); see timetracer export --help');
    const { cassette } = new CassetteLocator(values.dir as string | undefined).load(positionals[0]!);
    const out = (values.out as string | undefined) ?? path.basename(cassetteRelativePath(cassette, false));
    if (!out.endsWith('.json')) throw new CliError(`--out must name a .json file, not ${out}`);
    try {
      fs.writeFileSync(out, serialiseCassette(cassette).text, { flag: 'wx' });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new CliError(
        code === 'EEXIST' ? `${out} already exists; name another with --out` : `cannot write ${out} (${code ?? String(error)})`,
      );
    }
    process.stdout.write(
      `wrote ${displayPath(out)} (${cassette.request ? `${cassette.request.method} ${cassette.request.path}` : 'process'}, id ${cassette.session.id})\n`,
    );
    return 0;
  },
});
