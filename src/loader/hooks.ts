/**
 * Where instrumentations meet the modules they hook. Builtins and globals are patched at once; a
 * package's files as they load: CommonJS files where Node compiles them (compiled-files.ts), ES
 * module files through Node's module hooks, for apps that depend on their packages
 * (es-modules.ts). Either way a file's package is told by its path and checked against the hook's
 * versions, once per installed copy (hooked-packages.ts), and each module is patched once, a
 * fault of the patch being one line of its plugin's (patch-once.ts).
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type { Instrumentation, InstrumentationContext } from '../instrumentation.js';
import { hookCompiledFiles } from './compiled-files.js';
import { hookEsModules } from './es-modules.js';
import { type EsModuleHook, type PackageHook, versionCheck } from './hooked-packages.js';
import { patchOnce, type Registered } from './patch-once.js';

const require = createRequire(import.meta.url);

export function installHooks(
  instrumentations: readonly Instrumentation[],
  contextFor: (i: Instrumentation) => InstrumentationContext,
): void {
  const commonJs: Array<Registered<PackageHook>> = [];
  const esModules: Array<Registered<EsModuleHook>> = [];
  let patchedBuiltins = false;
  for (const instrumentation of instrumentations) {
    const ctx = contextFor(instrumentation);
    for (const hook of instrumentation.hooks) {
      const entry = { instrumentation, ctx, patched: new WeakSet<object>() };
      if (hook.module === 'globalThis') {
        patchOnce({ ...entry, hook }, globalThis, globalThis);
      } else if (hook.module.startsWith('node:')) {
        const builtin = require(hook.module) as object;
        patchOnce({ ...entry, hook }, builtin, builtin);
        patchedBuiltins = true;
      } else if ('versions' in hook) {
        if (hook.esModule) esModules.push({ ...entry, hook });
        else commonJs.push({ ...entry, hook });
      }
    }
  }
  // ESM named imports of builtins (`import { request } from 'node:http'`) see patched functions.
  if (patchedBuiltins) syncBuiltinESMExports();
  const checkVersion = versionCheck([...commonJs, ...esModules]);
  if (commonJs.length) hookCompiledFiles(commonJs, checkVersion);
  hookEsModules(esModules, checkVersion);
}
