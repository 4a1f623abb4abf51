/**
 * The `timetracer` command. Bad input gets one clear line and a non-zero exit, never a stack trace.
 */
import { CliError, parse, type Command } from './command.js';
import { commands } from './commands/index.js';
import { onLocalCopies } from './remote-dirs.js';
import { TIMETRACER_VERSION } from '../version.js';

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `Usage: timetracer <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run timetracer <command> --help for a command's options.

Record:  TIMETRACER_MODE=record node --import timetracer/register app.js
Replay:  TIMETRACER_MODE=replay TIMETRACER_CASSETTE=<file or dir> node --import timetracer/register app.js`;
}

function help(command: Command): string {
  return `Usage: timetracer ${command.name} ${command.usage}`;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${overview()}\n`);
    return 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${TIMETRACER_VERSION}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`timetracer: unknown command "${name}"; run timetracer --help\n`);
    return 2;
  }
  try {
    const { values, positionals } = parse(command, command.argv ? command.argv(rest) : rest);
    if (values.help) {
      process.stdout.write(`${help(command)}\n`);
      return 0;
    }
    return await onLocalCopies(command, values, positionals, (local, names) => command.run(local, names));
  } catch (error) {
    const message = error instanceof CliError ? error.message : `unexpected failure: ${(error as Error)?.message ?? String(error)}`;
    process.stderr.write(`timetracer ${command.name}: ${message}\n`);
    return error instanceof CliError ? error.exitCode : 2;
  }
}
