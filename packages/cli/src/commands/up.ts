/** `mrm up`: start a local cluster of separate processes and return while it runs. */
import { join } from 'node:path';
import { ErrorCode, MrmError } from '@mrm/core';
import { type LocalClusterOptions, startLocalCluster } from '../cluster/local-cluster.js';
import { httpToken } from '../ops/http-options.js';
import { say } from '../report.js';

/** The login the cluster's own nats-server requires, from the flags (else the environment). */
function natsAuthOf(options: UpCommandOptions): { natsAuth?: LocalClusterOptions['natsAuth'] } {
  const user = options.natsUser ?? process.env.MRM_NATS_USER;
  const pass = options.natsPass ?? process.env.MRM_NATS_PASS;
  const token = options.natsToken ?? process.env.MRM_NATS_TOKEN;
  if (token !== undefined && user !== undefined) {
    throw new MrmError(ErrorCode.BadOption, 'give --nats-user/--nats-pass or --nats-token, not both');
  }
  if (token !== undefined) return { natsAuth: { token } };
  if (user === undefined) return {};
  if (pass === undefined) throw new MrmError(ErrorCode.BadOption, '--nats-user needs --nats-pass');
  return { natsAuth: { user, pass } };
}

/** Options of `mrm up`. */
export interface UpCommandOptions {
  readonly maps: number;
  readonly merges: number;
  readonly dir: string;
  readonly threads?: number;
  readonly timeout?: number;
  readonly natsUser?: string;
  readonly natsPass?: string;
  readonly natsToken?: string;
  readonly httpToken?: string;
  /** nats-servers: 1, or a JetStream cluster of 3 or 5 (default 1). */
  readonly natsNodes?: number;
  /** false (`--no-copies`): the coordinator keeps no checkpoint copies. */
  readonly copies?: boolean;
}

/**
 * Runs `mrm up`: prints `MRM_NATS_URL=<url>` on stdout once every worker is alive (with
 * `--nats-nodes 3`, every node's URL, comma-separated, so that clients fail over).
 */
export async function upCommand(options: UpCommandOptions): Promise<void> {
  // Ctrl-C during start-up stops what was started (the processes are detached: they would not get it).
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const record = await startLocalCluster({
      dir: options.dir,
      maps: options.maps,
      merges: options.merges,
      signal: abort.signal,
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.timeout !== undefined ? { readyTimeoutMs: options.timeout } : {}),
      ...natsAuthOf(options),
      ...(options.natsNodes !== undefined ? { natsNodes: options.natsNodes } : {}),
      ...(httpToken(options) !== undefined ? { httpToken: httpToken(options) } : {}),
      ...(options.copies === false ? { copies: false } : {}),
    });
    const nats =
      (options.natsNodes ?? 1) > 1
        ? `a cluster of ${options.natsNodes} nats-servers (JetStream replicas 3)`
        : 'nats-server';
    say(
      `mrm: cluster ready in ${options.dir}: ${nats}, coordinator, ${options.maps} map and ${options.merges} merge workers (logs in ${join(options.dir, 'logs')}; stop with mrm down --dir ${options.dir})`,
    );
    process.stdout.write(`MRM_NATS_URL=${record.url}\n`);
    if (record.dashboard !== undefined) process.stdout.write(`MRM_DASHBOARD=${record.dashboard}\n`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
