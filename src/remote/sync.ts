/**
 * Copying cassette directories between disk and S3, in the same layout: cassette files, segments
 * and their indexes, each copied when the other side lacks it or holds it at another size. A
 * segment goes before its index, so a reader on the other side never finds an index naming bytes
 * that are not there yet. Nothing else is copied (temporary files, the catalog's cache), and no
 * object whose path would leave the directory is ever written.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { isCassetteFile } from '../cassette/names.js';
import { isSegmentFile } from '../cassette/segment.js';
import { makeDirsSync } from '../dirs.js';
import type { RemoteObject, S3Location, S3Store } from './s3.js';

/** Whether a path (relative, `/`-separated) is something a cassette directory holds and a store copies. */
export function isStoredPath(relative: string): boolean {
  const parts = relative.split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..' || part.startsWith('.'))) return false;
  const name = parts.at(-1)!;
  return isCassetteFile(name) || isSegmentFile(name) || (name.endsWith('.idx') && isSegmentFile(name.slice(0, -'.idx'.length)));
}

/** Segments before their indexes (see above); otherwise in path order. Sorts in place. */
export function inCopyOrder(objects: RemoteObject[]): RemoteObject[] {
  return objects.sort((a, b) => Number(a.path.endsWith('.idx')) - Number(b.path.endsWith('.idx')) || (a.path < b.path ? -1 : 1));
}

/** The files of a local cassette directory a store holds, by relative path. */
export function localObjects(dir: string): RemoteObject[] {
  const found: RemoteObject[] = [];
  const walk = (at: string, relative: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(at, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory() && !entry.name.startsWith('.')) walk(path.join(at, entry.name), child);
      else if (entry.isFile() && isStoredPath(child)) found.push({ path: child, size: fs.statSync(path.join(at, entry.name)).size });
    }
  };
  walk(dir, '');
  return found;
}

/** What `from` holds that `to` lacks or holds at another size. */
function missing(from: RemoteObject[], to: RemoteObject[]): RemoteObject[] {
  const sizes = new Map(to.map((object) => [object.path, object.size]));
  return inCopyOrder(from.filter((object) => sizes.get(object.path) !== object.size));
}

/** Writes a file whole under its name, never half (a temporary name, then a rename). */
export function writeWhole(file: string, bytes: Buffer): void {
  makeDirsSync(path.dirname(file));
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(3).toString('hex')}.tmp`);
  fs.writeFileSync(temp, bytes);
  fs.renameSync(temp, file);
}

export interface Copied {
  copied: number;
  bytes: number;
}

/**
 * Copies what the store holds and `dir` lacks into `dir`. `mirror`: `dir` is a copy of the store
 * and nothing else, so what the store no longer holds goes from it too (files deleted there).
 */
export async function download(store: S3Store, dir: string, { mirror = false } = {}): Promise<Copied> {
  const remote = (await store.list()).filter((object) => isStoredPath(object.path));
  if (mirror) {
    const held = new Set(remote.map((object) => object.path));
    for (const object of localObjects(dir))
      if (!held.has(object.path)) fs.rmSync(path.join(dir, ...object.path.split('/')), { force: true });
  }
  const wanted = missing(remote, localObjects(dir));
  let bytes = 0;
  for (const object of wanted) {
    const content = await store.get(object.path);
    writeWhole(path.join(dir, ...object.path.split('/')), content);
    bytes += content.length;
  }
  return { copied: wanted.length, bytes };
}

/** Copies what `dir` holds and the store lacks into the store. `known`: the store's listing, if already read. */
export async function upload(dir: string, store: S3Store, known?: RemoteObject[]): Promise<Copied> {
  const wanted = missing(localObjects(dir), known ?? (await store.list()));
  let bytes = 0;
  for (const object of wanted) {
    const content = fs.readFileSync(path.join(dir, ...object.path.split('/')));
    await store.put(object.path, content);
    bytes += content.length;
  }
  return { copied: wanted.length, bytes };
}

/** A local folder of timetracer's own for a location: `kind` `cache` (read from it) or `spool` (waiting to go to it). */
export function localFolderFor(location: S3Location, kind: 'cache' | 'spool'): string {
  const parts = [location.bucket, ...location.prefix.split('/').filter((part) => part && part !== '..' && part !== '.')];
  return path.join(os.tmpdir(), 'timetracer-s3', kind, ...parts);
}
