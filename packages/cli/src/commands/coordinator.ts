/** `mrm coordinator`: the cluster's coordinator in the foreground. */
import { join } from 'node:path';
import { CoordinatorService } from '@mrm/coordinator';
import { LmdbStateStore } from '@mrm/store-lmdb';
import { connectCluster } from '../cluster/connect.js';
import { InputCache, resolveInputRefs } from '../cluster/input-shipping.js';
import { clusterJobLoader } from '../cluster/job-shipping.js';
import { untilStopped } from '../cluster/lifecycle.js';
import { consoleLogger } from '../console-logger.js';
import { lockStateDir, statePaths } from '../state-dir.js';

/** Options of `mrm coordinator`. */
export interface CoordinatorCommandOptions {
  readonly nats?: string;
  readonly state: string;
  readonly heartbeatTimeout?: number;
  readonly workerWait?: number;
  /** Re-dispatch a job's unfinished tasks after this long without any report (default DEFAULT_STALL_TIMEOUT_MS). */
  readonly stallTimeout?: number;
  readonly verbose?: boolean;
}

/** Runs the coordinator until stopped. */
export async function coordinatorCommand(options: CoordinatorCommandOptions): Promise<void> {
  const logger = consoleLogger(options.verbose === true ? 'debug' : 'info', { role: 'coordinator' });
  const paths = statePaths(options.state);
  const unlock = await lockStateDir(paths);
  const transport = await connectCluster(options.nats, 'mrm-coordinator', logger);
  const store = await LmdbStateStore.open({ path: paths.lmdb });
  const inputs = new InputCache(transport, join(paths.root, 'inputs'));
  const service = new CoordinatorService({
    transport,
    store,
    loadJob: clusterJobLoader(transport, paths.bundles),
    resolveInputs: (refs) => resolveInputRefs(refs, inputs),
    logger,
    ...(options.heartbeatTimeout !== undefined ? { heartbeatTimeoutMs: options.heartbeatTimeout } : {}),
    ...(options.workerWait !== undefined ? { workerWaitMs: options.workerWait } : {}),
    ...(options.stallTimeout !== undefined ? { runOptions: { stallTimeoutMs: options.stallTimeout } } : {}),
  });
  service.start();
  logger.info('coordinator ready', { state: paths.root });
  const signal = await untilStopped();
  logger.info('coordinator stopping', { signal });
  await service.close(); // settles the running job and the job loop: the store may close after it
  await transport.close();
  await store.close();
  await unlock();
}
