/**
 * `mrm coordinator`: the cluster's coordinator in the foreground. Several may run against one
 * cluster: one leads (its records in JetStream), the others stand by and take over when it dies
 * (decisions/0020).
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CoordinatorService, copyRecords, KvRecordStore, LeaderLease, PartitionLeases } from '@mrm/coordinator';
import type { Logger } from '@mrm/core';
import type { NatsTransport } from '@mrm/transport-nats';
import { type ClusterConnectOptions, connectCluster } from '../cluster/connect.js';
import { InputCache, resolveInputRefs } from '../cluster/input-shipping.js';
import { clusterJobLoader } from '../cluster/job-shipping.js';
import { CloseStack, untilStopped } from '../cluster/lifecycle.js';
import { releaseSegment, segmentSource } from '../cluster/stream-input.js';
import { consoleLogger } from '../console-logger.js';
import { coordinatorRoutes } from '../ops/coordinator-routes.js';
import { loadDashboardAssets } from '../ops/dashboard-assets.js';
import { type HttpCommandOptions, httpToken } from '../ops/http-options.js';
import { type HttpServerHandle, startHttpServer } from '../ops/http-server.js';
import { MergeRate } from '../ops/merge-rate.js';
import { metricsRoute } from '../ops/metrics-route.js';
import { PromMetrics } from '../ops/prom-metrics.js';
import { lockStateDir, openExistingStore, type StatePaths, statePaths } from '../state-dir.js';

/** Options of `mrm coordinator`. */
export interface CoordinatorCommandOptions extends ClusterConnectOptions, HttpCommandOptions {
  readonly state: string;
  /** A standby takes over after the leader is silent this long (default DEFAULT_LEADER_LEASE_MS). */
  readonly leaderLease?: number;
  readonly heartbeatTimeout?: number;
  /** Probe every worker's process this often (0: off; default DEFAULT_LIVENESS_PROBE_MS). */
  readonly livenessProbe?: number;
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

/** Runs the coordinator until stopped: stands by while another leads, leads when it can. */
export async function coordinatorCommand(options: CoordinatorCommandOptions): Promise<void> {
  const logger = consoleLogger(options.verbose === true || process.env.MRM_TRACE === '1' ? 'debug' : 'info', {
    role: 'coordinator',
  });
  const paths = statePaths(options.state);
  const stopping = new AbortController();
  void untilStopped().then((signal) => {
    logger.info('coordinator stopping', { signal });
    stopping.abort(signal);
  });
  // What is opened here is closed on the way out, and as well when opening fails half-way.
  const open = new CloseStack();
  const { transport, lease } = await open.starting(async () => {
    open.defer(await lockStateDir(paths));
    const transport = await connectCluster(options, 'mrm-coordinator', logger);
    open.defer(() => transport.close());
    const lease = await LeaderLease.open({
      transport,
      id: `${hostname()}:${process.pid}`,
      logger,
      ...(options.leaderLease !== undefined ? { leaseMs: options.leaderLease } : {}),
    });
    open.defer(() => lease.close());
    return { transport, lease };
  });
  try {
    for (;;) {
      try {
        await lease.acquire(stopping.signal);
      } catch (e) {
        if (stopping.signal.aborted) break;
        throw e;
      }
      const outcome = await lead(options, { transport, lease, logger, paths, stop: stopping.signal });
      if (outcome === 'stopped') break;
      logger.warn('standing by again: another coordinator leads now');
    }
  } finally {
    // After the service closed (it no longer acts): a standby may take over at once.
    try {
      await lease.release();
    } finally {
      await open.close();
    }
  }
}

/** What a term of leading needs. */
interface LeadContext {
  readonly transport: NatsTransport;
  readonly lease: LeaderLease;
  readonly logger: Logger;
  readonly paths: StatePaths;
  /** Aborted when the process is asked to stop. */
  readonly stop: AbortSignal;
}

/**
 * One term of leading: the service (its records and leases in JetStream, every write fenced by the
 * lease) and the HTTP servers, until the process is stopped or another coordinator takes over.
 */
async function lead(options: CoordinatorCommandOptions, ctx: LeadContext): Promise<'stopped' | 'lost'> {
  const { transport, lease, logger, paths } = ctx;
  const guard = () => lease.confirm();
  const store = await KvRecordStore.open(transport, { guard });
  await adoptLocalRecords(paths, store, logger);
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
      releaseSegment: (segment) => releaseSegment(segment, join(paths.root, 'inputs', 'streams')),
    },
    logger,
    // Leases and checkpoint copies in JetStream: a lost merge worker's partitions move.
    ...(options.copies !== false ? { leases: await PartitionLeases.open(transport, { guard }) } : {}),
    metrics: mergeRate.observing(metrics),
    ...(options.heartbeatTimeout !== undefined ? { heartbeatTimeoutMs: options.heartbeatTimeout } : {}),
    ...(options.livenessProbe !== undefined ? { livenessProbeMs: options.livenessProbe } : {}),
    ...(options.workerWait !== undefined ? { workerWaitMs: options.workerWait } : {}),
    ...(options.stallTimeout !== undefined ? { runOptions: { stallTimeoutMs: options.stallTimeout } } : {}),
    ...(options.watchdog !== undefined ? { watchdogMs: options.watchdog } : {}),
  });
  service.start();
  const servers: HttpServerHandle[] = [];
  const close = async () => {
    for (const s of servers) await s.close();
    await service.close(); // settles the running job and the job loop: nothing is written after it
    await store.close();
  };
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
    await close();
    throw e;
  }
  logger.info('coordinator ready', { state: paths.root });
  const stopped = new Promise<'stopped'>((resolve) => {
    if (ctx.stop.aborted) resolve('stopped');
    else ctx.stop.addEventListener('abort', () => resolve('stopped'), { once: true });
  });
  const outcome = await Promise.race([stopped, lease.lost.then(() => 'lost' as const)]);
  await close();
  return outcome;
}

/**
 * Records of a coordinator from before they lived in JetStream (its LMDB under `--state`) move to
 * JetStream the first time it leads, while JetStream holds none (decisions/0020). The local copy
 * stays as it was.
 */
async function adoptLocalRecords(paths: StatePaths, records: KvRecordStore, logger: Logger): Promise<void> {
  if (!records.isEmpty() || !existsSync(join(paths.lmdb, 'data.mdb'))) return;
  const local = await openExistingStore(paths.root);
  try {
    const copied = await copyRecords(local, records);
    if (copied.jobs > 0) logger.warn('moved the coordinator records from its --state into JetStream', { ...copied });
  } finally {
    await local.close();
  }
}
