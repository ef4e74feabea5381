/**
 * Connecting a CLI process to the cluster's NATS server: the URL (several, comma-separated, for a
 * NATS cluster), the JetStream replicas and, when the server asks for them, credentials and TLS
 * files. Each comes from its flag, else its environment variable, so
 * `mrm up` passes them on to every process it starts through the environment.
 */
import { ErrorCode, type Logger, MrmError } from '@mrm/core';
import { type NatsSecurityOptions, NatsTransport, type NatsTransportOptions } from '@mrm/transport-nats';

/** NATS flags of cluster commands. */
export interface ClusterConnectOptions {
  readonly nats?: string;
  readonly natsCreds?: string;
  readonly natsUser?: string;
  readonly natsPass?: string;
  readonly natsToken?: string;
  readonly natsTlsCa?: string;
  readonly natsTlsCert?: string;
  readonly natsTlsKey?: string;
  /** JetStream replicas of what this process creates (`--nats-replicas`). */
  readonly natsReplicas?: number;
}

/** Each security flag and the environment variable it falls back to. */
export const NATS_SECURITY_ENV = {
  natsCreds: 'MRM_NATS_CREDS',
  natsUser: 'MRM_NATS_USER',
  natsPass: 'MRM_NATS_PASS',
  natsToken: 'MRM_NATS_TOKEN',
  natsTlsCa: 'MRM_NATS_TLS_CA',
  natsTlsCert: 'MRM_NATS_TLS_CERT',
  natsTlsKey: 'MRM_NATS_TLS_KEY',
} as const satisfies Record<Exclude<keyof ClusterConnectOptions, 'nats' | 'natsReplicas'>, string>;

/** The environment variable `--nats-replicas` falls back to. */
export const NATS_REPLICAS_ENV = 'MRM_NATS_REPLICAS';

/** JetStream replicas from `--nats-replicas`, else `MRM_NATS_REPLICAS`; undefined: from the server. */
export function natsReplicas(flag: number | undefined): number | undefined {
  if (flag !== undefined) return flag;
  const text = process.env[NATS_REPLICAS_ENV]?.trim();
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new MrmError(ErrorCode.BadOption, `${NATS_REPLICAS_ENV} must be a positive integer, got '${text}'`);
  }
  return n;
}

/** The NATS URL from `--nats`, else `MRM_NATS_URL`; a clear error when neither is set. */
export function natsUrl(flag: string | undefined): string {
  // `export "$(mrm up)"` (quoted) puts both lines `up` prints in MRM_NATS_URL: the URL is the first.
  const url = (flag ?? process.env.MRM_NATS_URL)?.split('\n')[0]?.trim();
  if (url === undefined || url === '') {
    throw new MrmError(ErrorCode.BadOption, 'no NATS server given: pass --nats <url> or set MRM_NATS_URL');
  }
  return url;
}

/** Flags (else environment) of the security options, as environment variables for child processes. */
export function natsSecurityEnv(options: ClusterConnectOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [flag, name] of Object.entries(NATS_SECURITY_ENV) as Array<[keyof typeof NATS_SECURITY_ENV, string]>) {
    const value = options[flag] ?? process.env[name];
    if (value !== undefined && value !== '') env[name] = value;
  }
  return env;
}

/** The security options from flags, else environment. */
export function natsSecurity(options: ClusterConnectOptions): NatsSecurityOptions {
  const env = natsSecurityEnv(options);
  const v = (flag: keyof typeof NATS_SECURITY_ENV) => env[NATS_SECURITY_ENV[flag]];
  const out: { -readonly [K in keyof NatsSecurityOptions]?: string } = {};
  const set = (key: keyof NatsSecurityOptions, value: string | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set('credsFile', v('natsCreds'));
  set('user', v('natsUser'));
  set('pass', v('natsPass'));
  set('token', v('natsToken'));
  set('tlsCaFile', v('natsTlsCa'));
  set('tlsCertFile', v('natsTlsCert'));
  set('tlsKeyFile', v('natsTlsKey'));
  return out;
}

/**
 * How this process connects (structured-clone safe, so a heartbeat thread connects the same way).
 * One place: every connection of a CLI process is made from these options. `options` is the
 * command's flags, or just its `--nats` URL.
 */
export function clusterConnectOptions(
  options: ClusterConnectOptions | string | undefined,
  name: string,
): NatsTransportOptions {
  const flags: ClusterConnectOptions =
    typeof options === 'object' ? options : options !== undefined ? { nats: options } : {};
  const replicas = natsReplicas(flags.natsReplicas);
  return {
    servers: natsUrl(flags.nats),
    name,
    security: natsSecurity(flags),
    ...(replicas !== undefined ? { replicas } : {}),
  };
}

/** Connects to the cluster. */
export function connectCluster(
  options: ClusterConnectOptions | string | undefined,
  name: string,
  logger?: Logger,
): Promise<NatsTransport> {
  return NatsTransport.connect({
    ...clusterConnectOptions(options, name),
    ...(logger !== undefined ? { logger } : {}),
  });
}
