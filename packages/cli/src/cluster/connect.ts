/** Connecting a CLI process to the cluster's NATS server. */
import { ErrorCode, type Logger, MrmError } from '@mrm/core';
import { NatsTransport } from '@mrm/transport-nats';

/** The NATS URL from `--nats`, else `MRM_NATS_URL`; a clear error when neither is set. */
export function natsUrl(flag: string | undefined): string {
  const url = flag ?? process.env.MRM_NATS_URL;
  if (url === undefined || url.trim() === '') {
    throw new MrmError(ErrorCode.BadOption, 'no NATS server given: pass --nats <url> or set MRM_NATS_URL');
  }
  return url.trim();
}

/** Connects to the cluster. */
export function connectCluster(flag: string | undefined, name: string, logger?: Logger): Promise<NatsTransport> {
  return NatsTransport.connect({ servers: natsUrl(flag), name, ...(logger !== undefined ? { logger } : {}) });
}
