/**
 * Replay: what the servers say about themselves, without a server. The driver's own topology
 * code runs on these answers, so `MongoClient.connect()` resolves, server selection finds a
 * server, and sessions, retryable writes and transactions are offered as a real deployment offers
 * them. Which kind of server each seed claims to be follows the connection string: with
 * `replicaSet`, the first seed is that set's primary and the others its secondaries; otherwise
 * every seed is a mongos (which accepts any read preference, transactions included).
 */
export interface TopologyOptions {
  replicaSet?: string;
  loadBalanced?: boolean;
}

/** Wire versions of MongoDB 7.0: inside the range every driver 6.8+ and 7 speaks. */
const MIN_WIRE_VERSION = 0;
const MAX_WIRE_VERSION = 21;

let connectionIds = 0;

/**
 * The hello reply of the server at `address` among `hosts` (all seeds, in order). For a load
 * balancer, `serviceId` is what the driver pins connections by.
 */
export function replayHello(
  address: string,
  hosts: readonly string[],
  options: TopologyOptions,
  serviceId?: () => unknown,
): Record<string, unknown> {
  const hello: Record<string, unknown> = {
    helloOk: true,
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: ++connectionIds,
    minWireVersion: MIN_WIRE_VERSION,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
    ok: 1,
  };
  const primary = hosts[0] ?? address;
  if (options.loadBalanced) {
    Object.assign(hello, { isWritablePrimary: true, msg: 'isdbgrid', serviceId: serviceId?.() });
  } else if (options.replicaSet) {
    const isPrimary = address === primary;
    Object.assign(hello, {
      isWritablePrimary: isPrimary,
      secondary: !isPrimary,
      setName: options.replicaSet,
      hosts: [...hosts],
      primary,
      me: address,
    });
  } else {
    Object.assign(hello, { isWritablePrimary: true, msg: 'isdbgrid' });
  }
  hello.ismaster = hello.isWritablePrimary;
  return hello;
}
