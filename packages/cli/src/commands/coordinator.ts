/** `mrm coordinator`: the cluster's coordinator in the foreground. */
import { join } from 'node:path';
import { CoordinatorService, PartitionLeases } from '@mrm/coordinator';
import { LmdbStateStore } from '@mrm/store-lmdb';
import { type ClusterConnectOptions, connectCluster } from '../cluster/connect.js';
import { InputCache, resolveInputRefs } from '../cluster/input-shipping.js';
import { clusterJobLoader } from '../cluster/job-shipping.js';
import { untilStopped } from '../cluster/lifecycle.js';
import { segmentSource } from '../cluster/stream-input.js';
import { consoleLogger } from '../console-logger.js';
import { coordinatorRoutes } from '../ops/coordinator-routes.js';
import { loadDashboardAssets } from '../ops/dashboard-assets.js';
import { type HttpCommandOptions, httpToken } from '../ops/http-options.js';
import { type HttpServerHandle, startHttpServer } from '../ops/http-server.js';
import { MergeRate } from '../ops/merge-rate.js';
import { metricsRoute } from '../ops/metrics-route.js';
import { PromMetrics } from '../ops/prom-metrics.js';
import { lockStateDir, statePaths } from '../state-dir.js';

/** Options of `mrm coordinator`. */
export interface CoordinatorCommandOptions extends ClusterConnectOptions, HttpCommandOptions {
  readonly state: string;
  readonly heartbeatTimeout?: number;
  readonly workerWait?: number;
  /** Re-dispatch a job's unfinished tasks after this long without any report (default DEFAULT_STALL_TIMEOUT_MS). */
  readonly stallTimeout?: number;
  /** Warn about a running job without progress for this long (default 60 s). */
  readonly watchdog?: number;
  /** Port of the HTTP API and dashboard (0: any free port); none when absent. */
  readonly http?: number;
  /**
   * Keep checkpoint copies in JetStream and partition leases (default true). `false`
   * (`--no-copies`): no copies, fixed partition owners, and a lost merge worker fails the run;
   * for measuring what the copies cost (docs/benchmarks.md, checkpoint-cost).
   */
  readonly copies?: boolean;
  readonly verbose?: boolean;
}

/** Runs the coordinator until stopped. */
export async function coordinatorCommand(options: CoordinatorCommandOptions): Promise<void> {
  const logger = consoleLogger(options.verbose === true ? 'debug' : 'info', { role: 'coordinator' });
  const paths = statePaths(options.state);
  const unlock = await lockStateDir(paths);
  const transport = await connectCluster(options, 'mrm-coordinator', logger);
  const store = await LmdbStateStore.open({ path: paths.lmdb });
  const inputs = new InputCache(transport, join(paths.root, 'inputs'), transport.streams);
  const metrics = new PromMetrics({ role: 'coordinator', worker: 'coordinator' });
  const mergeRate = new MergeRate();
  const service = new CoordinatorService({
    transport,
    store,
    loadJob: clusterJobLoader(transport, paths.bundles),
    resolveInputs: (refs) => resolveInputRefs(refs, inputs),
    streamInput: {
      streams: transport.streams,
      segmentSource: (segment) => segmentSource(transport.streams, segment, join(paths.root, 'inputs', 'streams')),
    },
    logger,
    // Leases and checkpoint copies in JetStream: a lost merge worker's partitions move.
    ...(options.copies !== false ? { leases: await PartitionLeases.open(transport) } : {}),
    metrics: mergeRate.observing(metrics),
    ...(options.heartbeatTimeout !== undefined ? { heartbeatTimeoutMs: options.heartbeatTimeout } : {}),
    ...(options.workerWait !== undefined ? { workerWaitMs: options.workerWait } : {}),
    ...(options.stallTimeout !== undefined ? { runOptions: { stallTimeoutMs: options.stallTimeout } } : {}),
    ...(options.watchdog !== undefined ? { watchdogMs: options.watchdog } : {}),
  });
  service.start();
  const servers: HttpServerHandle[] = [];
  const token = httpToken(options);
  const host = options.httpHost;
  try {
    if (options.http !== undefined) {
      const dashboard = await loadDashboardAssets();
      const server = await startHttpServer({
        port: options.http,
        ...(host !== undefined ? { host } : {}),
        ...(token !== undefined ? { token } : {}),
        routes: coordinatorRoutes({ service, transport, metrics, mergeRate, dashboard }),
        logger,
      });
      servers.push(server);
      logger.info('dashboard ready', { url: server.url });
    }
    if (options.metricsPort !== undefined) {
      const server = await startHttpServer({
        port: options.metricsPort,
        ...(host !== undefined ? { host } : {}),
        ...(token !== undefined ? { token } : {}),
        routes: [metricsRoute(metrics)],
        logger,
      });
      servers.push(server);
      logger.info('metrics ready', { url: `${server.url}/metrics` });
    }
  } catch (e) {
    for (const s of servers) await s.close();
    await service.close();
    await transport.close();
    await store.close();
    await unlock();
    throw e;
  }
  logger.info('coordinator ready', { state: paths.root });
  const signal = await untilStopped();
  logger.info('coordinator stopping', { signal });
  for (const s of servers) await s.close();
  await service.close(); // settles the running job and the job loop: the store may close after it
  await transport.close();
  await store.close();
  await unlock();
}
