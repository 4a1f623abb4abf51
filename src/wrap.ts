/** Wrapping functions in place, once: a wrapped function carries a marker and its original. */

const ORIGINAL = Symbol.for('timetracer.original');

export function isWrapped(fn: unknown): boolean {
  return typeof fn === 'function' && ORIGINAL in fn;
}

export function markWrapped<F>(wrapper: F, original: unknown): F {
  const fn = wrapper as unknown as { name: string; length: number };
  const from = original as { name: string; length: number };
  Object.defineProperty(fn, ORIGINAL, { value: original });
  // Keep what callers may inspect: name and arity.
  Object.defineProperty(fn, 'name', { value: from.name, configurable: true });
  Object.defineProperty(fn, 'length', { value: from.length, configurable: true });
  return wrapper;
}

/**
 * Replaces `target[name]` with `makeWrapper(original)`, unless it is already wrapped. Returns
 * whether it wrapped. Throws when there is no function to wrap: the library is not what its
 * instrumentation expects, which the loader reports as a plugin that did not attach.
 */
export function wrapMethod<T extends object, K extends keyof T>(target: T, name: K, makeWrapper: (original: T[K]) => T[K]): boolean {
  const original = target[name];
  if (isWrapped(original)) return false;
  if (typeof original !== 'function') throw new TypeError(`found no function ${String(name)} to wrap`);
  target[name] = markWrapped(makeWrapper(original), original);
  return true;
}

/**
 * `wrapMethod` for a module's exports, which bundlers often define as getters that cannot be
 * set: then a copy of the exports with `name` wrapped, for the hook to export instead.
 */
export function wrapExport<T extends object, K extends keyof T>(exports: T, name: K, makeWrapper: (original: T[K]) => T[K]): T {
  const descriptor = Object.getOwnPropertyDescriptor(exports, name);
  if (!descriptor || 'value' in descriptor || descriptor.set) {
    wrapMethod(exports, name, makeWrapper);
    return exports;
  }
  const { [name]: _wrapped, ...others } = Object.getOwnPropertyDescriptors(exports);
  const copy = Object.defineProperties({}, others) as T;
  Object.defineProperty(copy, name, { value: exports[name], writable: true, enumerable: true, configurable: true });
  wrapMethod(copy, name, makeWrapper);
  return copy;
}
