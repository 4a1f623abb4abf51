/**
 * CommonJS files of hooked packages, patched where Node compiles them: every CommonJS file,
 * whether a `require` or an ES `import` loads it, passes once through `Module._extensions['.js']`,
 * and there its exports are patched once it has run, before whoever loaded it reads them. That
 * costs a few string tests per file loaded; a hook on `require` itself (require-in-the-middle)
 * resolves every `require` call again, and a `module.registerHooks` load hook costs about as much
 * (docs/node-lines.md).
 */
import { createRequire } from 'node:module';
import { forEachHookOf, type PackageHook, type VersionCheck } from './hooked-packages.js';
import { patchOnce, type Registered } from './patch-once.js';

const require = createRequire(import.meta.url);

type CompileFn = (module: { exports: unknown }, filename: string) => void;

/** Patches each hooked file's exports as Node compiles it. */
export function hookCompiledFiles(entries: ReadonlyArray<Registered<PackageHook>>, checkVersion: VersionCheck): void {
  const extensions = (require('node:module') as { _extensions: Record<string, CompileFn> })._extensions;
  const compile = extensions['.js']!;
  extensions['.js'] = function (this: unknown, module, filename) {
    compile.call(this, module, filename);
    forEachHookOf(filename, entries, checkVersion, (entry, packageDir) => {
      const { exports } = module;
      if ((typeof exports === 'object' || typeof exports === 'function') && exports !== null) {
        module.exports = patchOnce(entry, exports, exports, packageDir) ?? exports;
      }
    });
  };
}
