// Loaded before the app: Node's fetch keeps its dispatcher where nothing can replace it (each
// undici.globalDispatcher slot made read-only), so timetracer cannot wrap it.
void globalThis.Headers; // loads Node's bundled undici, which sets its global dispatcher
for (const symbol of Object.getOwnPropertySymbols(globalThis)) {
  if (symbol.description?.startsWith('undici.globalDispatcher.')) Object.defineProperty(globalThis, symbol, { writable: false });
}
