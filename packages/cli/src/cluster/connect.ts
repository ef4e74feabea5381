/** Connecting a CLI process to the cluster's NATS server. */
import { ErrorCode, type Logger, MrmError } from '@mrm/core';
import { NatsTransport, type NatsTransportOptions } from '@mrm/transport-nats';

/** The NATS URL from `--nats`, else `MRM_NATS_URL`; a clear error when neither is set. */
export function natsUrl(flag: string | undefined): string {
  const url = flag ?? process.env.MRM_NATS_URL;
  if (url === undefined || url.trim() === '') {
    throw new MrmError(ErrorCode.BadOption, 'no NATS server given: pass --nats <url> or set MRM_NATS_URL');
  }
  return url.trim();
}

/**
 * How this process connects (structured-clone safe, so a heartbeat thread connects the same way).
 * One place: every connection of a CLI process is made from these options.
 */
export function clusterConnectOptions(flag: string | undefined, name: string): NatsTransportOptions {
  return { servers: natsUrl(flag), name };
}

/** Connects to the cluster. */
export function connectCluster(flag: string | undefined, name: string, logger?: Logger): Promise<NatsTransport> {
  return NatsTransport.connect({ ...clusterConnectOptions(flag, name), ...(logger !== undefined ? { logger } : {}) });
}
