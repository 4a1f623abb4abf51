/** The files on the stack: whose code is calling. */

/** A function on the stack, constructors too: the calls that led to it are the ones asked about. */
export type StackAnchor = (...args: never[]) => unknown;

/** The files of the calls that led to `below`, innermost first, `depth` of them at most. */
export function callerFiles(below: StackAnchor, depth: number): string[] {
  const { prepareStackTrace, stackTraceLimit } = Error;
  try {
    Error.stackTraceLimit = depth;
    // Call sites rather than text: an app's own prepareStackTrace (source maps) may reword the text.
    Error.prepareStackTrace = (_error, sites) => sites;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder, below);
    return (holder.stack ?? []).map((site) => (site.getFileName() ?? '').replaceAll('\\', '/'));
  } finally {
    Error.prepareStackTrace = prepareStackTrace;
    Error.stackTraceLimit = stackTraceLimit;
  }
}

/** The package a file belongs to, by the last node_modules folder in its path (`@scope/name` too). */
export function packageOf(file: string): string | undefined {
  const marker = '/node_modules/';
  const at = file.lastIndexOf(marker);
  if (at < 0) return undefined;
  const [first, second] = file.slice(at + marker.length).split('/');
  return first?.startsWith('@') ? `${first}/${second}` : first;
}
