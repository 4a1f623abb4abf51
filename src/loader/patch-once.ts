/** Running a hook's patch on a module, once, where a fault of the patch cannot reach the app. */
import type { Hook, Instrumentation, InstrumentationContext } from '../instrumentation.js';
import { describeError } from '../log.js';

/** A hook with the plugin that declared it, and the modules it has patched. */
export interface Registered<H extends Hook = Hook> {
  hook: H;
  instrumentation: Instrumentation;
  ctx: InstrumentationContext;
  patched: WeakSet<object>;
}

/** What a hook patches, for its lines: `pg/lib/client.js`, or the module alone. */
export function hookedFile(hook: Hook): string {
  return 'file' in hook && hook.file ? `${hook.module}/${hook.file}` : hook.module;
}

/** Says that the hook could not patch its file, in its plugin's one line. */
export function couldNotPatch(entry: Registered, problem: string): void {
  entry.ctx.notAttached(`could not patch ${hookedFile(entry.hook)} (${problem})`);
}

/**
 * Runs the hook's patch on `exports`, unless it has run on `module` already (the exports
 * themselves, or the ES module namespace they are a copy of). Returns what the patch returned in
 * their place, if anything; a patch that throws is one line, and the exports stay as they are.
 */
export function patchOnce(entry: Registered, module: object, exports: object, packageDir?: string): object | undefined {
  if (entry.patched.has(module)) return undefined;
  entry.patched.add(module);
  try {
    const replacement = entry.hook.patch(exports, entry.ctx, packageDir);
    if ((typeof replacement !== 'object' && typeof replacement !== 'function') || replacement === null || replacement === exports) {
      return undefined;
    }
    entry.patched.add(replacement);
    return replacement;
  } catch (error) {
    couldNotPatch(entry, describeError(error));
    return undefined;
  }
}
