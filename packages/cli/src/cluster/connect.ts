/**
 * Connecting a CLI process to the cluster's NATS server: the URL and, when the server asks for
 * them, credentials and TLS files. Each comes from its flag, else its environment variable, so
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
} as const satisfies Record<Exclude<keyof ClusterConnectOptions, 'nats'>, string>;

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
  return { servers: natsUrl(flags.nats), name, security: natsSecurity(flags) };
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
