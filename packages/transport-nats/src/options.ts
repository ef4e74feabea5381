/** Options of {@link NatsTransport.connect}, and their resolution (validation and defaults, once). */
import type { Logger } from '@mrm/core';
import { ErrorCode, MrmError, silentLogger } from '@mrm/core';

/** How to connect a {@link NatsTransport}. */
export interface NatsTransportOptions {
  /** Server URL(s), comma-separated: `nats://127.0.0.1:4222`. */
  readonly servers: string;
  /** Connection name shown by the server (`nats-server` monitoring); default none. */
  readonly name?: string;
  /** First token of every subject and bucket name, to share a server between installations; default `mrm`. */
  readonly prefix?: string;
  /** How long the first connection may take; default 5 000 ms. */
  readonly connectTimeoutMs?: number;
  /** Reconnect (forever, while not closed) when the connection drops; default true. */
  readonly reconnect?: boolean;
  /** Wait between reconnect attempts to one server; default 1 000 ms. */
  readonly reconnectWaitMs?: number;
  /** Receives connection state changes and errors thrown by message handlers; default silent. */
  readonly logger?: Logger;
  /** How to authenticate and encrypt; default none. */
  readonly security?: NatsSecurityOptions;
  /**
   * Copies JetStream keeps of every stream, KV bucket and object store this transport creates
   * (1 to 5). Default: 3 when the server is a node of a cluster of three or more, else the
   * cluster's size (1 for a server alone); see {@link defaultReplicas}. A bucket that already
   * exists keeps the replicas it was created with.
   */
  readonly replicas?: number;
}

/** Credentials and TLS of a NATS connection (files are read when connecting). */
export interface NatsSecurityOptions {
  /** A `.creds` file (JWT and NKey seed), as `nsc` writes it. */
  readonly credsFile?: string;
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  /** CA certificate to trust (PEM file): turns TLS on. */
  readonly tlsCaFile?: string;
  /** Client certificate and key (PEM files) for mutual TLS. */
  readonly tlsCertFile?: string;
  readonly tlsKeyFile?: string;
}

/** {@link NatsTransportOptions} validated, with every default filled in. */
export interface ResolvedNatsTransportOptions {
  readonly servers: readonly string[];
  readonly name: string | undefined;
  readonly prefix: string;
  readonly connectTimeoutMs: number;
  readonly reconnect: boolean;
  readonly reconnectWaitMs: number;
  readonly logger: Logger;
  readonly security: NatsSecurityOptions;
  /** Undefined: from the server, when a bucket is created ({@link defaultReplicas}). */
  readonly replicas: number | undefined;
}

/** The default subject prefix. */
export const DEFAULT_NATS_PREFIX = 'mrm';

/** Validates `options` and fills in defaults; throws `E_BAD_OPTION` naming the bad option. */
export function resolveNatsTransportOptions(options: NatsTransportOptions): ResolvedNatsTransportOptions {
  const servers = (options.servers ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (servers.length === 0) {
    throw new MrmError(ErrorCode.BadOption, 'NATS servers must name at least one URL, e.g. nats://127.0.0.1:4222');
  }
  const prefix = options.prefix ?? DEFAULT_NATS_PREFIX;
  // Letters, digits and '-' are valid in subjects, stream and bucket names alike.
  if (!/^[A-Za-z0-9-]+$/.test(prefix)) {
    throw new MrmError(
      ErrorCode.BadOption,
      `NATS prefix must be letters, digits or '-', got ${JSON.stringify(prefix)}`,
    );
  }
  return {
    servers,
    name: options.name,
    prefix,
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs ?? 5_000),
    reconnect: options.reconnect ?? true,
    reconnectWaitMs: positive('reconnectWaitMs', options.reconnectWaitMs ?? 1_000),
    logger: options.logger ?? silentLogger,
    security: resolveSecurity(options.security ?? {}),
    replicas: options.replicas === undefined ? undefined : replicas(options.replicas),
  };
}

/** Most replicas JetStream allows for a stream. */
const MAX_REPLICAS = 5;

function replicas(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_REPLICAS) {
    throw new MrmError(
      ErrorCode.BadOption,
      `NATS replicas must be a whole number from 1 to ${MAX_REPLICAS}, got ${value}`,
    );
  }
  return value;
}

/**
 * The replicas of a bucket when none were asked for: as many as the cluster has servers, at most
 * 3 (a majority of 3 survives the loss of one). The cluster's size is what the connected server
 * advertises (`connect_urls`: every node's client URL) or the URLs the client was given, whichever
 * is larger; a server that is no node of a cluster means 1.
 */
export function defaultReplicas(
  info: { readonly cluster?: string; readonly connect_urls?: readonly string[] } | undefined,
  givenServers: number,
): number {
  if (info?.cluster === undefined || info.cluster === '') return 1;
  return Math.min(3, Math.max(givenServers, info.connect_urls?.length ?? 1));
}

function resolveSecurity(security: NatsSecurityOptions): NatsSecurityOptions {
  if ((security.tlsCertFile === undefined) !== (security.tlsKeyFile === undefined)) {
    throw new MrmError(
      ErrorCode.BadOption,
      'a NATS TLS client certificate needs its key: give both --nats-tls-cert and --nats-tls-key',
    );
  }
  if (security.pass !== undefined && security.user === undefined) {
    throw new MrmError(ErrorCode.BadOption, 'a NATS password needs a user: give --nats-user too');
  }
  const ways = [security.credsFile, security.user, security.token].filter((x) => x !== undefined);
  if (ways.length > 1) {
    throw new MrmError(
      ErrorCode.BadOption,
      'give one way to log in to NATS: a creds file, a user and password, or a token',
    );
  }
  return security;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new MrmError(ErrorCode.BadOption, `NATS ${name} must be a positive number of milliseconds, got ${value}`);
  }
  return value;
}
