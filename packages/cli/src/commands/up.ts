/** `mrm up`: start a local cluster of separate processes and return while it runs. */
import { join } from 'node:path';
import { startLocalCluster } from '../cluster/local-cluster.js';
import { say } from '../report.js';

/** Options of `mrm up`. */
export interface UpCommandOptions {
  readonly maps: number;
  readonly merges: number;
  readonly dir: string;
  readonly threads?: number;
  readonly timeout?: number;
}

/** Runs `mrm up`: prints `MRM_NATS_URL=<url>` on stdout once every worker is alive. */
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
    });
    say(
      `mrm: cluster ready in ${options.dir}: nats-server, coordinator, ${options.maps} map and ${options.merges} merge workers (logs in ${join(options.dir, 'logs')}; stop with mrm down --dir ${options.dir})`,
    );
    process.stdout.write(`MRM_NATS_URL=${record.url}\n`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
