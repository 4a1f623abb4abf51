#!/usr/bin/env node
// The `timetracer` command (see src/cli/main.ts).
try {
  const { main } = await import('../dist/src/cli/main.js');
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`timetracer: ${error?.message ?? error}\n`);
  process.exitCode = 2;
}
