// Compiles a client of Prisma's prisma-client generator (TypeScript) to ES modules, as an app's
// build does: `<tsDir>/client.ts` and what it imports, into `jsDir`, beside a package.json saying
// its .js files are ES modules. Shared by test/prisma.test.js and test/prisma-library-engine.test.js.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../support/harness.js';

export function compilePrismaClient(tsDir, jsDir) {
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
