/** `mrm worker --role map|merge`: one worker in the foreground. */
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, MrmError, WorkerRole } from '@mrm/core';
import { MapWorker, ThreadPoolMapExecutor } from '@mrm/map-worker';
import { MergeWorker } from '@mrm/merge-worker';
import { LmdbStateStore } from '@mrm/store-lmdb';
import { clusterConnectOptions, connectCluster } from '../cluster/connect.js';
import { startHeartbeatThread } from '../cluster/heartbeat-thread.js';
import { InputCache } from '../cluster/input-shipping.js';
import { clusterJobLoader, fetchBundle } from '../cluster/job-shipping.js';
import { untilStopped } from '../cluster/lifecycle.js';
import { consoleLogger } from '../console-logger.js';
import { lockStateDir, statePaths } from '../state-dir.js';

/** Options of `mrm worker`. */
export interface WorkerCommandOptions {
  readonly role: 'map' | 'merge';
  readonly nats?: string;
  readonly state?: string;
  readonly id?: string;
  readonly threads?: number;
  readonly verbose?: boolean;
}

/** Runs a worker until stopped. */
export async function workerCommand(options: WorkerCommandOptions): Promise<void> {
  const role = options.role;
  const id = options.id ?? `${role}-${hostname()}-${process.pid}`;
  if (!/^[A-Za-z0-9_.-]+$/.test(id)) {
    throw new MrmError(ErrorCode.BadOption, `worker id '${id}' may only hold letters, digits, '_', '.' and '-'`);
  }
  if (role === WorkerRole.Merge && options.state === undefined) {
    throw new MrmError(ErrorCode.BadOption, 'a merge worker keeps partition state: give it --state <dir>');
  }
  const logger = consoleLogger(options.verbose === true ? 'debug' : 'info', { role, worker: id });
  const paths = statePaths(options.state ?? join(tmpdir(), `mrm-worker-${id}`));
  const unlock = await lockStateDir(paths);
  const transport = await connectCluster(options.nats, `mrm-${id}`, logger);
  const closers: Array<() => Promise<void>> = [];
  let stats: () => Record<string, number>;
  if (role === WorkerRole.Map) {
    const inputs = new InputCache(transport, join(paths.root, 'inputs'), transport.streams);
    const worker = new MapWorker({
      id,
      transport,
      executor: ThreadPoolMapExecutor.create({
        workerId: id,
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
      }),
      logger,
      prepareTask: async (task) => ({
        ...task,
        job: { ...task.job, bundlePath: await fetchBundle(transport, task.job, paths.bundles) },
        split: { ...task.split, path: await inputs.path(task.split.path) },
      }),
    });
    worker.start();
    closers.push(() => worker.close());
    stats = () => ({ ...worker.stats() });
  } else {
    const store = await LmdbStateStore.open({ path: paths.lmdb });
    const worker = new MergeWorker({
      id,
      transport,
      store,
      loadJob: clusterJobLoader(transport, paths.bundles),
      logger,
    });
    worker.start();
    closers.push(
      () => worker.close(),
      () => store.close(),
    );
    stats = () => ({ ...worker.stats() });
  }
  // From a thread of its own: a busy main thread (user code, a long merge) still beats.
  const heartbeat = await startHeartbeatThread({
    connect: clusterConnectOptions(options.nats, `mrm-${id}`),
    workerId: id,
    role,
    stats: () => stats(),
  });
  logger.info('worker ready');
  const signal = await untilStopped();
  logger.info('worker stopping', { signal });
  await heartbeat.stop();
  for (const close of closers) await close();
  await transport.close();
  await unlock();
}
