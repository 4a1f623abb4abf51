// Compiles a client of Prisma's prisma-client generator (TypeScript) to ES modules, as an ES module
// app's build does: `<tsDir>/client.ts` and what it imports, into `jsDir`. Both sit beside a
// package.json saying "type": "module", as in such an app: with `--module nodenext`, tsc emits what
// that says (without it, CommonJS). Shared by test/prisma.test.js and test/prisma-library-engine.test.js.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../support/harness.js';

export function compilePrismaClient(tsDir, jsDir) {
  fs.writeFileSync(path.join(tsDir, 'package.json'), '{ "type": "module" }\n');
  execFileSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--outDir',
      jsDir,
      '--rootDir',
      tsDir,
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--skipLibCheck',
      '--noCheck',
      path.join(tsDir, 'client.ts'),
    ],
    { stdio: 'pipe' },
  );
  fs.writeFileSync(path.join(jsDir, 'package.json'), '{ "type": "module" }\n');
}
