/** `mrm worker --role map|merge`: one worker in the foreground. */
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, encodeApi, type Logger, MrmError, WorkerRole } from '@mrm/core';
import { MapWorker, ThreadPoolMapExecutor } from '@mrm/map-worker';
import { MergeWorker } from '@mrm/merge-worker';
import { LmdbStateStore } from '@mrm/store-lmdb';
import { type ClusterConnectOptions, clusterConnectOptions, connectCluster } from '../cluster/connect.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, startHeartbeatThread } from '../cluster/heartbeat-thread.js';
import { InputCache } from '../cluster/input-shipping.js';
import { clusterJobLoader, fetchBundle } from '../cluster/job-shipping.js';
import { CloseStack, untilStopped } from '../cluster/lifecycle.js';
import { storeIncarnation } from '../cluster/store-incarnation.js';
import { consoleLogger } from '../console-logger.js';
import { type HttpCommandOptions, httpToken } from '../ops/http-options.js';
import { type HttpServerHandle, startHttpServer } from '../ops/http-server.js';
import { metricsRoute } from '../ops/metrics-route.js';
import { processResourceSampler } from '../ops/process-resources.js';
import { PromMetrics } from '../ops/prom-metrics.js';
import { lockStateDir, statePaths } from '../state-dir.js';

/** Options of `mrm worker`. */
export interface WorkerCommandOptions extends ClusterConnectOptions, HttpCommandOptions {
  readonly role: 'map' | 'merge';
  readonly state?: string;
  readonly id?: string;
  readonly threads?: number;
  /** Milliseconds between heartbeats (default {@link DEFAULT_HEARTBEAT_INTERVAL_MS}). */
  readonly heartbeatInterval?: number;
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
  const logger = consoleLogger(options.verbose === true || process.env.MRM_TRACE === '1' ? 'debug' : 'info', {
    role,
    worker: id,
  });
  const open = new CloseStack();
  await open.starting(() => startWorker(options, id, logger, open));
  logger.info('worker ready');
  const signal = await untilStopped();
  logger.info('worker stopping', { signal });
  await open.close();
}

/**
 * Starts the worker's pieces, each deferred to `open` as it opens (so a failure half-way closes
 * what was opened), the heartbeat last: a worker is announced only once it can take work.
 */
async function startWorker(options: WorkerCommandOptions, id: string, logger: Logger, open: CloseStack): Promise<void> {
  const role = options.role;
  const paths = statePaths(options.state ?? join(tmpdir(), `mrm-worker-${id}`));
  open.defer(await lockStateDir(paths));
  const transport = await connectCluster(options, `mrm-${id}`, logger);
  open.defer(() => transport.close());
  const metrics = new PromMetrics({ role, worker: id });
  let stats: () => Record<string, number>;
  let phase: () => string;
  let incarnation: string | undefined;
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
      metrics,
      prepareTask: async (task) => ({
        ...task,
        job: { ...task.job, bundlePath: await fetchBundle(transport, task.job, paths.bundles) },
        split: { ...task.split, path: await inputs.path(task.split.path) },
      }),
    });
    worker.start();
    open.defer(() => worker.close());
    stats = () => ({ ...worker.stats() });
    phase = () => worker.phase();
  } else {
    incarnation = storeIncarnation(paths);
    const store = await LmdbStateStore.open({ path: paths.lmdb });
    open.defer(() => store.close());
    const worker = new MergeWorker({
      id,
      transport,
      store,
      loadJob: clusterJobLoader(transport, paths.bundles),
      logger,
      metrics,
    });
    worker.start();
    open.defer(() => worker.close());
    stats = () => ({ ...worker.stats() });
    phase = () => worker.phase();
  }
  let server: HttpServerHandle | undefined;
  if (options.metricsPort !== undefined) {
    const token = httpToken(options);
    const metricsServer = await startHttpServer({
      port: options.metricsPort,
      ...(options.httpHost !== undefined ? { host: options.httpHost } : {}),
      ...(token !== undefined ? { token } : {}),
      routes: [metricsRoute(metrics)],
      logger,
    });
    open.defer(() => metricsServer.close());
    server = metricsServer;
    logger.info('metrics ready', { url: `${server.url}/metrics` });
  }
  // `mrm status` asks for counters as of now rather than showing those of the last beat.
  const answersStats = transport.subscribe({ kind: 'stats', workerId: id }, (_payload, reply) =>
    reply?.(encodeApi({ type: 'worker-stats-reply', stats: stats(), phase: phase() })),
  );
  open.defer(() => answersStats.unsubscribe());
  // From a thread of its own: a busy main thread (user code, a long merge) still beats.
  const heartbeat = await startHeartbeatThread({
    ...(options.heartbeatInterval !== undefined ? { intervalMs: options.heartbeatInterval } : {}),
    connect: clusterConnectOptions(options, `mrm-${id}`),
    workerId: id,
    role,
    stats: () => stats(),
    resources: processResourceSampler(),
    phase: () => phase(),
    ...(server !== undefined ? { metricsUrl: `${server.url}/metrics` } : {}),
    ...(incarnation !== undefined ? { incarnation } : {}),
  });
  open.defer(() => heartbeat.stop());
}
