/**
 * Folders made as `mkdir -p` makes them. Node's own recursive mkdir loops for ever on a path
 * whose parent exists but refuses children with ENOENT (`/proc/self/nope`): here each missing
 * folder is made once, from the top down, and the first refusal is the error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describeError } from './log.js';

export function makeDirsSync(dir: string): void {
  const notADirectory = (): Error => Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR' });
  const missing: string[] = [];
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(at);
    } catch (error) {
      // Beneath a file: Node lines differ on whether stat says so (ENOTDIR) or finds nothing.
      if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') throw notADirectory();
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (stat) {
      if (!stat.isDirectory()) throw notADirectory();
      break;
    }
    if (path.dirname(at) === at) break;
    missing.push(at);
  }
  for (const folder of missing.reverse()) {
    try {
      fs.mkdirSync(folder);
    } catch (error) {
      // Made meanwhile by another process: as good as made here.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** Why cassettes cannot be written into `dir` (made if missing), or undefined when they can. */
export function unwritableDirProblem(dir: string): string | undefined {
  try {
    makeDirsSync(dir);
    fs.accessSync(dir, fs.constants.W_OK);
    return undefined;
  } catch (error) {
    return describeError(error);
  }
}
