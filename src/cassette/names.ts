/**
 * How cassette files are named: `<day>/<METHOD>__<path slug>__<id>.json` for a request,
 * `<day>/PROCESS__<service slug>__<id>.json` for a process, so a name says what a file holds
 * without reading it; and which files and folders of a directory are cassettes.
 */
import path from 'node:path';
import type { AnyCassette } from './schema.js';

const CASSETTE_FILE = /\.json(\.gz)?$/;

/** Files that sit among cassettes without being cassettes: a project's noise file (see `timetracer replay`). */
const NOT_CASSETTES = new Set(['timetracer.noise.json']);

/** Folders cassettes may sit in: not hidden ones, where tools keep their own files (replay runs). */
export function isCassetteFolder(name: string): boolean {
  return !name.startsWith('.');
}

export function isCassetteFile(file: string): boolean {
  const name = path.basename(file);
  return CASSETTE_FILE.test(name) && !name.startsWith('.') && !NOT_CASSETTES.has(name);
}

/** A process cassette's file, by its name (`PROCESS__<service>__<id>.json`). */
export function isProcessCassetteFile(file: string): boolean {
  return isCassetteFile(file) && path.basename(file).startsWith(`${PROCESS_PREFIX}__`);
}

export const PROCESS_PREFIX = 'PROCESS';

/** `/user/octocat` -> `user_octocat`; `/` -> `root`. */
export function pathSlug(requestPath: string): string {
  const slug = requestPath
    .split('?')[0]!
    .replace(/^\/+|\/+$/g, '')
    .replace(/\//g, '_')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .slice(0, 80);
  return slug || 'root';
}

/** `<day>/<METHOD>__<path slug>__<id>.json`, or `<day>/PROCESS__<service slug>__<id>.json`. */
export function cassetteRelativePath(cassette: AnyCassette, gzip: boolean): string {
  const day = cassette.session.recorded_at.slice(0, 10);
  const stem = cassette.request
    ? requestFileStem(cassette.request.method, cassette.request.path)
    : `${PROCESS_PREFIX}__${pathSlug(cassette.session.service)}`;
  return path.join(day, `${stem}__${cassette.session.id}.json${gzip ? '.gz' : ''}`);
}

/**
 * The start of the file name of every cassette recorded for a request with this method and path
 * (`GET__user_octocat`): replay finds a request's candidates by it without reading a file. Paths
 * that differ may share it (the slug is shortened and simplified); the cassettes tell them apart.
 */
export function requestFileStem(method: string, requestPath: string): string {
  return `${method.toUpperCase().replace(/[^A-Z]/g, '') || 'REQUEST'}__${pathSlug(requestPath)}`;
}

/** The stem of a request cassette's file name as recording names them (see requestFileStem), or undefined. */
export function fileStem(name: string): string | undefined {
  return RECORDED_NAME.exec(name)?.[1];
}

const RECORDED_NAME = /^([A-Z]+__.*)__[^_]+\.json(?:\.gz)?$/;
