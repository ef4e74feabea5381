/**
 * The coordinator as a long-running cluster service, wiring its parts: workers announce
 * themselves by heartbeat on their own channel ({@link WorkerRegistry}), clients call the API
 * channel ({@link routeApiRequest}), jobs wait in a priority queue and run one at a time
 * ({@link JobScheduler}) on the {@link Coordinator}, and every job's status is kept on disk and
 * published ({@link StatusPublisher}).
 */
import {
  type ApiMessage,
  decodeApi,
  ErrorCode,
  type JobInfoReply,
  type JobStatus,
  MrmError,
  type RoleState,
  type StatusReply,
  type Subscription,
  type TimerHandle,
} from '@mrm/core';
import { Coordinator } from '../coordinator.js';
import { JobRecord } from '../job-record.js';
import { routeApiRequest } from './api-router.js';
import { JobHistory } from './job-history.js';
import { JobScheduler } from './job-scheduler.js';
import { LivenessProbe } from './liveness-probe.js';
import {
  type CoordinatorServiceOptions,
  type ResolvedCoordinatorServiceOptions,
  resolveCoordinatorServiceOptions,
} from './service-options.js';
import { StatusPublisher } from './status-publisher.js';
import { WorkerRegistry } from './worker-registry.js';

/** The watchdog looks at the running job at most this often. */
const MIN_WATCH_EVERY_MS = 100;

/** The cluster coordinator. */
export class CoordinatorService {
  private readonly options: ResolvedCoordinatorServiceOptions;
  private readonly coordinator: Coordinator;
  private readonly registry: WorkerRegistry;
  private readonly scheduler: JobScheduler;
  /** Finds killed workers at once (undefined with `livenessProbeMs` 0). */
  private readonly probe: LivenessProbe | undefined;
  private readonly subscriptions: Subscription[] = [];
  private unlisten: (() => void) | undefined;
  /** Set from our reconnect until every live worker has been heard from again. */
  private reconnectedAtMs: number | undefined;
  private lifecycle: RoleState = 'created';
  private watchdogTimer: TimerHandle | undefined;

  constructor(options: CoordinatorServiceOptions) {
    this.options = resolveCoordinatorServiceOptions(options);
    const { transport, store, logger, clock, metrics, leases } = this.options;
    this.coordinator = new Coordinator({
      transport,
      store,
      logger,
      clock,
      metrics,
      ...(leases !== undefined ? { leases } : {}),
    });
    const history = new JobHistory(store);
    this.registry = new WorkerRegistry(
      clock,
      this.options.heartbeatTimeoutMs,
      (id, role, why) => {
        logger.warn('worker lost', { worker: id, role, why });
        for (const run of this.coordinator.activeRuns()) run.workerLost(id);
      },
      (id, role) => logger.info('worker joined', { worker: id, role }),
    );
    this.scheduler = new JobScheduler(
      this.options,
      this.coordinator,
      this.registry,
      history,
      new StatusPublisher(transport, history, clock),
    );
    this.probe =
      this.options.livenessProbeMs > 0
        ? new LivenessProbe({
            transport,
            clock,
            logger,
            registry: this.registry,
            everyMs: this.options.livenessProbeMs,
            // Our own connection away or back only just: workers may still be reconnecting.
            canJudge: () => transport.state === 'connected' && this.reconnectedAtMs === undefined,
          })
        : undefined;
  }

  /** Where the service is in its lifecycle. */
  get state(): RoleState {
    return this.lifecycle;
  }

  /** Starts listening for heartbeats, run reports and API requests; resumes unfinished jobs. */
  start(): void {
    if (this.lifecycle !== 'created')
      throw new MrmError(ErrorCode.State, `cannot start a service that is ${this.lifecycle}`);
    const { transport, clock } = this.options;
    this.coordinator.start();
    this.registry.start();
    this.probe?.start();
    this.subscriptions.push(
      transport.subscribe({ kind: 'heartbeats' }, (payload) => this.onHeartbeat(payload)),
      transport.subscribe({ kind: 'api' }, (payload, reply) => void routeApiRequest(payload, reply, this.api)),
    );
    // After a reconnect, messages in flight may be lost: dispatch unfinished work again, now and
    // once every worker is back (what is sent to a worker still reconnecting is lost too).
    this.unlisten = transport.onStateChange((state) => {
      if (state !== 'connected') return;
      this.redispatch('transport reconnected');
      this.reconnectedAtMs = clock.nowMs();
    });
    this.lifecycle = 'running';
    const watchEvery = Math.max(MIN_WATCH_EVERY_MS, Math.floor(this.options.watchdogMs / 4));
    this.watchdogTimer = clock.every(watchEvery, () => this.scheduler.watch());
    this.scheduler.start();
  }

  private readonly api = {
    submit: (request: Parameters<JobScheduler['submit']>[0]) => {
      if (this.lifecycle !== 'running') throw new MrmError(ErrorCode.Aborted, 'the coordinator is shutting down');
      return this.scheduler.submit(request);
    },
    status: (jobId?: string) => this.status(jobId),
    cancel: (jobId: string) => this.cancel(jobId),
    jobInfo: (name: string) => this.jobInfo(name),
  };

  private onHeartbeat(payload: Uint8Array): void {
    let m: ApiMessage;
    try {
      m = decodeApi(payload);
    } catch (e) {
      this.options.logger.warn('dropped an undecodable heartbeat', { error: String(e) });
      return;
    }
    if (m.type !== 'heartbeat') return;
    this.registry.heartbeat(m);
    this.afterReconnectHeartbeat();
  }

  private redispatch(reason: string): void {
    for (const run of this.coordinator.activeRuns()) run.redispatch(reason);
  }

  /**
   * A worker's heartbeat arriving after our reconnect proves the worker is connected to the new
   * server with its subscriptions in place; once every live worker has sent one, dispatch again.
   */
  private afterReconnectHeartbeat(): void {
    const since = this.reconnectedAtMs;
    if (since === undefined || !this.registry.allHeardSince(since)) return;
    this.reconnectedAtMs = undefined;
    this.redispatch('every worker is back after a reconnect');
  }

  /** A job's status: the running job, then the queue, then the history. */
  jobStatus(jobId: string): Promise<JobStatus | undefined> {
    return this.scheduler.jobStatus(jobId);
  }

  /** Jobs (one, or all: running, queued, then history) and workers; throws when `jobId` is unknown. */
  status(jobId?: string): Promise<Omit<StatusReply, 'v'>> {
    return this.scheduler.statusReply(jobId);
  }

  /**
   * Cancels a job: a queued one leaves the queue; a running one stops, its state staying at its
   * last committed version. Either way its history says cancelled. Resolves with its status.
   */
  cancel(jobId: string): Promise<JobStatus> {
    return this.scheduler.cancel(jobId);
  }

  /** Where a job's state lives (partition owners) and its versions, for queries. */
  async jobInfo(name: string): Promise<Omit<JobInfoReply, 'v'>> {
    const { store } = this.options;
    const shape = await new JobRecord(store, name).shape();
    if (shape === undefined) throw new MrmError(ErrorCode.State, `no job named '${name}' on this cluster`);
    const versions = await store.listVersions(name);
    const owners = await this.scheduler.ownersToServe({
      name,
      incremental: shape.incremental,
      version: versions.at(-1)?.version ?? 0,
    });
    return {
      type: 'job-info-reply',
      name,
      partitions: shape.partitions,
      owners,
      versions,
      bundleHash: shape.bundleHash,
    };
  }

  /** Takes no new job; resolves when the job running now has finished (queued ones stay queued on disk). */
  async drain(): Promise<void> {
    if (this.lifecycle === 'running') this.lifecycle = 'draining';
    await this.coordinator.drain();
    await this.scheduler.idle();
  }

  /**
   * Stops taking requests and heartbeats; a running job is abandoned (it resumes from its last
   * committed version when the coordinator starts again). Resolves when the job loop has
   * stopped and every timer is cleared, so the caller may close the store.
   */
  async close(): Promise<void> {
    if (this.lifecycle === 'closed') return;
    this.lifecycle = 'closed';
    this.unlisten?.();
    this.watchdogTimer?.cancel();
    for (const s of this.subscriptions) s.unsubscribe();
    this.registry.stop();
    this.probe?.stop();
    this.scheduler.stop();
    await this.coordinator.close();
    await this.scheduler.idle();
  }
}
