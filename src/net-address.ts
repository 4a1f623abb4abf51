/** Network addresses as timetracer names and matches them: `host:port`, `[::1]:6379`, a socket file. */

/** Where a connection goes: a host and port, or a socket file. */
export type Destination = { host: string; port: number } | { path: string };

/** What TIMETRACER_ALLOW_CONNECT lists: a destination, with `*` for any host or any port. */
export type AddressPattern = { host: string; port: number | '*' } | { path: string };

/** `host:port` (`[::1]:6379`), or the socket file. */
export function describeDestination(destination: Destination): string {
  if ('path' in destination) return destination.path;
  return destination.host.includes(':') ? `[${destination.host}]:${destination.port}` : `${destination.host}:${destination.port}`;
}

/**
 * `db.internal:5432`, `[::1]:6379`, `*:3306`, `localhost` (any port), `/run/app.sock`; undefined
 * when it is none of these.
 */
export function parseAddressPattern(text: string): AddressPattern | undefined {
  if (text.startsWith('/')) return { path: text };
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}|\*))?$/.exec(text);
  if (!match) return undefined;
  const host = (match[1] ?? match[2])!.toLowerCase();
  const port = match[3] === undefined || match[3] === '*' ? '*' : Number(match[3]);
  return port === '*' || port <= 65535 ? { host, port } : undefined;
}

export function matchesAddress(pattern: AddressPattern, destination: Destination): boolean {
  if ('path' in pattern || 'path' in destination) return 'path' in pattern && 'path' in destination && pattern.path === destination.path;
  return (
    (pattern.host === '*' || pattern.host === destination.host.toLowerCase()) && (pattern.port === '*' || pattern.port === destination.port)
  );
}
