/**
 * The configuration file of one local nats-server with JetStream, alone or as one node of a
 * cluster whose routes run on loopback: `mrm up` and the test launcher in @mrm/testkit write it
 * the same way. JetStream clustering needs a `server_name` per node and a cluster `name`
 * (measured with nats-server 2.9.10; docs/decisions/0021-nats-cluster-replicas.md).
 */

/** One node of a local cluster. */
export interface NatsClusterNodeConfig {
  /** Name of the cluster (every node the same). */
  readonly name: string;
  /** Port of this node's route listener (on 127.0.0.1). */
  readonly routePort: number;
  /** Route ports of every node of the cluster (this one included: nats-server skips itself). */
  readonly routePorts: readonly number[];
}

/** Options of {@link natsServerConfig}. */
export interface NatsServerConfigOptions {
  /** `server_name`: unique per node; JetStream identifies a cluster's peers by it. */
  readonly serverName: string;
  /** Client port, on 127.0.0.1. */
  readonly port: number;
  /** JetStream store directory of this node. */
  readonly storeDir: string;
  /** When the server is a node of a cluster. */
  readonly cluster?: NatsClusterNodeConfig;
  /** The login clients must give: a user and password, or a token; default none. */
  readonly auth?: { readonly user: string; readonly pass: string } | { readonly token: string };
}

/**
 * Printed by every node of a JetStream cluster once a metadata leader is elected (by the leader:
 * "Self is new JetStream cluster metadata leader"; by the others: "JetStream cluster new metadata
 * leader: <name>/<cluster>"). Until then JetStream answers no request.
 */
export const NATS_META_LEADER_PATTERN =
  /JetStream cluster new metadata leader|Self is new JetStream cluster metadata leader/;

/** The configuration text (strings are JSON-quoted, which nats-server's format accepts). */
export function natsServerConfig(options: NatsServerConfigOptions): string {
  const q = (s: string): string => JSON.stringify(s);
  const lines = [
    `server_name: ${q(options.serverName)}`,
    `listen: "127.0.0.1:${options.port}"`,
    `jetstream {\n  store_dir: ${q(options.storeDir)}\n}`,
  ];
  const { cluster, auth } = options;
  if (cluster !== undefined) {
    const routes = cluster.routePorts.map((p) => q(`nats-route://127.0.0.1:${p}`)).join(', ');
    lines.push(
      `cluster {\n  name: ${q(cluster.name)}\n  listen: "127.0.0.1:${cluster.routePort}"\n  routes: [${routes}]\n}`,
    );
  }
  if (auth !== undefined) {
    lines.push(
      'token' in auth
        ? `authorization {\n  token: ${q(auth.token)}\n}`
        : `authorization {\n  user: ${q(auth.user)}\n  password: ${q(auth.pass)}\n}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
