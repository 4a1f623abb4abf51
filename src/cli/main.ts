/**
 * The `timetracer` command. Bad input gets one clear line and a non-zero exit, never a stack trace.
 */
import { TIMETRACER_VERSION } from '../version.js';

const USAGE = `Usage: timetracer <command> [options]

Record:  TIMETRACER_MODE=record node --import timetracer/register app.js
Replay:  TIMETRACER_MODE=replay TIMETRACER_CASSETTE=<file or dir> node --import timetracer/register app.js

Options:
  --help      show this help
  --version   show the version

Commands to list, show, diff and serve cassettes are not part of this version yet.`;

export function main(argv: readonly string[]): number {
  const [command] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${TIMETRACER_VERSION}\n`);
    return 0;
  }
  process.stderr.write(`timetracer: unknown command "${command}"; run timetracer --help\n`);
  return 2;
}
