/**
 * What every `timetracer` command shares: its description (for --help), option parsing with
 * clear messages, and failures that end as one line and an exit code, never a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  name: string;
  /** One line for `timetracer --help`. */
  summary: string;
  /** The command's own --help text, after its usage line. */
  usage: string;
  options: Options;
  /** Its positionals name cassettes: files, ids, or `s3://` objects (downloaded first). */
  cassetteArguments?: boolean;
  /** It runs until stopped, following its directory as it changes: an `s3://` one is copied again as it runs. */
  followsDir?: boolean;
  /** Rewrites the raw arguments before they are parsed (an option whose value may be left out). */
  argv?(args: readonly string[]): string[];
  /** Runs with the parsed options and positionals; resolves to the exit code. */
  run(values: Record<string, string | boolean | string[] | boolean[] | undefined>, positionals: string[]): Promise<number> | number;
}

/** A failure to report as one line (`timetracer <command>: <message>`) with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

export function defineCommand(command: Command): Command {
  return command;
}

/** Parses argv for a command; unknown or malformed options become a CliError. */
export function parse(
  command: Command,
  argv: readonly string[],
): { values: Record<string, string | boolean | string[] | boolean[] | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return { values, positionals };
  } catch (error) {
    throw new CliError(
      `${(error as Error).message.replace(/\. To specify a positional argument.*$/, '')}; see timetracer ${command.name} --help`,
    );
  }
}

/** `--limit 20` and the like: a whole number within bounds, or a CliError naming the option. */
export function integerOption(value: unknown, name: string, { min = 0, fallback }: { min?: number; fallback: number }): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min)
    throw new CliError(`--${name} must be a whole number of at least ${min}, not ${JSON.stringify(value)}`);
  return number;
}

/** `1h`, `30m`, `7d`, `2w` as milliseconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[match[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(match[1]) * unit;
}
