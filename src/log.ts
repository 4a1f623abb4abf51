/**
 * The lines timetracer prints, all on stderr, all starting with "timetracer". Their wording is
 * part of the interface: people grep for them and tests wait on them.
 */
import path from 'node:path';
import type { LogLevel } from './config.js';

let level: LogLevel = 'info';

export function setLogLevel(next: LogLevel): void {
  level = next;
}

function write(text: string): void {
  try {
    process.stderr.write(`${text}\n`);
  } catch {
    // A closed stderr must not take the app down with it.
  }
}

/** Per-request lines ([OK], [ERROR], replay, [MISS]): shown unless TIMETRACER_LOG=quiet. */
export function info(text: string): void {
  if (level !== 'quiet') write(text);
}

/** Something the user must know (bad config, lost cassette): always shown. */
export function warn(text: string): void {
  write(`timetracer [WARN] ${text}`);
}

export function debug(text: string): void {
  if (level === 'debug') write(`timetracer [DEBUG] ${text}`);
}

/** A path as the user wants to read it: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

export function formatMs(ms: number): string {
  return `${Math.round(ms)}ms`;
}

/** `http.client:2,db.query:1`, or `none`. */
export function formatCounts(counts: Readonly<Record<string, number | undefined>>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n)
    .map(([type, n]) => `${type}:${n}`);
  return parts.length ? parts.join(',') : 'none';
}

/** An error as one line: its code first, once (Node's system errors already begin with it). */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.startsWith(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
