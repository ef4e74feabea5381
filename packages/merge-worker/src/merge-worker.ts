/**
 * The merge worker role: owns partitions of running jobs, receives pushed frames, merges batches
 * in order, checkpoints into its StateStore, and grants credit back to map workers as it absorbs
 * their frames (so a slow merge worker slows its producers down).
 */
import {
  commitIfNewer,
  decodeApi,
  decodeMessage,
  ErrorCode,
  encodeAck,
  encodeApi,
  encodeMessage,
  encodeNack,
  LEASES_BUCKET,
  type Logger,
  type MessageBody,
  MrmError,
  PartAssembler,
  type ProtocolMessage,
  pruneVersions,
  type Reply,
  type RestorePartitionsMessage,
  type RoleState,
  type RunStartMessage,
  runKey,
  type Subscription,
  splitPayload,
  toWireError,
  traceStage,
} from '@mrm/core';
import { MergeRun } from './merge-run.js';
import {
  type MergeWorkerOptions,
  type ResolvedMergeWorkerOptions,
  resolveMergeWorkerOptions,
} from './merge-worker-options.js';
import { assertHeld, type CopyTarget, PartitionCopies } from './partition-copies.js';
import { deadLetterPage, scanPage } from './scan-page.js';

/** Counters of a merge worker. */
export interface MergeWorkerStats {
  readonly framesReceived: number;
  readonly bytesReceived: number;
  readonly runs: number;
  /** Bytes of batch buffers parked in the spill area (memory budget exceeded). */
  readonly spilledBytes: number;
}

/** Receives, reduces, merges and checkpoints. */
export class MergeWorker {
  private readonly runs = new Map<string, MergeRun>();
  private readonly subscriptions: Subscription[] = [];
  private readonly parts = new PartAssembler();
  private readonly logger: Logger;
  private unlisten: (() => void) | undefined;
  private copyTargetOpening: Promise<CopyTarget> | undefined;
  private framesReceived = 0;
  private finishedSpilledBytes = 0;
  private bytesReceived = 0;
  /** Runs being opened (partition state restored). */
  private restoring = 0;
  /** Per job, the run start under way (runs of a job open one after the other: {@link startRun}). */
  private readonly starting = new Map<string, Promise<void>>();
  private partCounter = 0;
  private lifecycle: RoleState = 'created';
  private readonly options: ResolvedMergeWorkerOptions;
  /** Called when the last open run closes (what `drain` waits for). */
  private idleWaiters: Array<() => void> = [];

  constructor(options: MergeWorkerOptions) {
    this.options = resolveMergeWorkerOptions(options);
    this.logger = this.options.logger;
  }

  /** Where the worker is in its lifecycle. */
  get state(): RoleState {
    return this.lifecycle;
  }

  /** Worker id. */
  get id(): string {
    return this.options.id;
  }

  /** Subscribes to control messages, frames and queries. */
  start(): void {
    if (this.lifecycle !== 'created')
      throw new MrmError(ErrorCode.State, `cannot start a merge worker that is ${this.lifecycle}`);
    const { transport, id } = this.options;
    this.subscriptions.push(
      transport.subscribe({ kind: 'worker', workerId: id }, (payload, reply) => void this.onControl(payload, reply)),
      // Decoding copies what it keeps (packed pairs, part bytes, values): no copy of each frame first.
      transport.subscribe({ kind: 'frames', workerId: id }, (payload) => this.onData(payload), { transient: true }),
      transport.subscribe({ kind: 'query', workerId: id }, (payload, reply) => void this.onQuery(payload, reply)),
    );
    // Reports sent while the connection was down may be lost: send them again.
    this.unlisten = transport.onStateChange((state) => {
      if (state === 'connected') this.resendReports();
    });
    this.lifecycle = 'running';
    // Map workers may be waiting for credit an earlier process under this id never gave back.
    transport.publish({ kind: 'broadcast' }, encodeMessage({ type: 'credit-reset', from: id }));
  }

  /** Answers a page of a partition's entries, or one key, as of a committed version. */
  private async onQuery(payload: Uint8Array, reply: Reply | undefined): Promise<void> {
    if (reply === undefined) return;
    try {
      const m = decodeApi(payload);
      const { store } = this.options;
      if (m.type === 'get' || m.type === 'scan')
        await assertHeld(store, this.options.id, m.job, m.partition, m.version);
      // Letters of one partition: refused unless held here, as its keys are.
      if (m.type === 'dead-letters' && m.partition !== undefined)
        await assertHeld(store, this.options.id, m.job, m.partition, m.version);
      if (m.type === 'get') {
        const value = await store.get(m.job, m.partition, m.key, m.version);
        reply(encodeApi({ type: 'get-reply', found: value !== undefined, ...(value !== undefined ? { value } : {}) }));
      } else if (m.type === 'scan') {
        reply(encodeApi(await scanPage(store, m)));
      } else if (m.type === 'dead-letters') {
        reply(encodeApi(await deadLetterPage(store, m)));
      } else {
        throw new MrmError(ErrorCode.Protocol, `a merge worker does not answer '${m.type}'`);
      }
    } catch (e) {
      reply(encodeApi({ type: 'error-reply', error: toWireError(e) }));
    }
  }

  /** Sends partials of salted keys to the merge worker owning their home partition. */
  private forwardPartials = (workerId: string, message: MessageBody): void => {
    const { transport, id } = this.options;
    for (const piece of splitPayload(
      encodeMessage(message),
      transport.maxPayloadBytes,
      `${id}:p${this.partCounter++}`,
    )) {
      transport.publish({ kind: 'frames', workerId }, piece);
    }
  };

  private report = (message: MessageBody): void => {
    this.options.transport.publish({ kind: 'coordinator' }, encodeMessage(message));
  };

  private async onControl(payload: Uint8Array, reply: Reply | undefined): Promise<void> {
    let m: ProtocolMessage;
    try {
      m = decodeMessage(payload);
    } catch (e) {
      this.logger.warn('dropped an undecodable control message', { error: String(e) });
      return;
    }
    try {
      if (m.type === 'run-start') await this.startRun(m);
      else if (m.type === 'restore-partitions') await this.restorePartitions(m);
      else if (m.type === 'run-extend') {
        const open = this.runs.get(runKey(m.jobId, m.run));
        if (open === undefined) {
          throw new MrmError(
            ErrorCode.WorkerLost,
            `merge worker ${this.options.id} has no run ${runKey(m.jobId, m.run)} open to extend (it restarted, or a newer run replaced it)`,
            { details: { workerId: this.options.id } },
          );
        }
        open.extend(m);
      } else if (m.type === 'commit-version') {
        const trace = (stage: string) => traceStage(this.logger, stage, { jobId: m.jobId, version: m.info.version });
        trace('merge.commit.received');
        const open = this.runs.get(runKey(m.jobId, m.run));
        if (open === undefined) await this.assertCommitted(m.jobName, m.info.version, runKey(m.jobId, m.run));
        // Commits only under the run's current leases (a deposed owner's commit is refused: no
        // ack). The leases are read while the store commits: a worker whose store committed a
        // version its coordinator did not is the case after any crash between the two, and the
        // next run discards above the coordinator's version (decisions/0042).
        await Promise.all([
          open?.assertLeases(),
          // The versions' local checkpoint writes are not awaited before the commit: the store
          // applies writes in the order they were called, so the commit lands after every one
          // started before it, and its flush makes them durable with it — one fsync on the path,
          // not two. Whether they succeeded is checked before the ack, as the leases are: a
          // version committed here whose write failed is never acked, so never committed by the
          // coordinator, and the next run discards it (decisions/0050).
          open?.assertWritten(),
          (async () => {
            // Exactly the coordinator's VersionInfos (one commit time across the cluster); a group
            // commit's versions in one write (decisions/0029).
            await commitIfNewer(this.options.store, m.jobName, [...(m.earlier ?? []), m.info]);
            trace('merge.commit.stored');
            // Before the ack: a run's last commit returns with the disk already trimmed.
            if (m.keepVersions !== undefined) await pruneVersions(this.options.store, m.jobName, m.keepVersions);
          })(),
          // The `copy-at` records may land before the versions: a record ahead of the store's
          // committed version is read as current at any version up to it (partition-copies.ts).
          open?.committed(m.info.version),
        ]);
        trace('merge.commit.marked');
        open?.confirm(m.info.version);
        if (m.last) await this.closeRun(m.jobId, m.run);
        trace('merge.commit.closed');
      } else if (m.type === 'run-abort') {
        await this.closeRun(m.jobId, m.run, m.rollbackTo);
      } else if (m.type === 'resend-reports') {
        this.runs.get(runKey(m.jobId, m.run))?.resendReports();
      } else return;
      reply?.(encodeAck());
    } catch (e) {
      this.logger.warn('control message failed', { type: m.type, error: String(e) });
      reply?.(encodeNack(e));
    }
  }

  /**
   * A commit for a run not open here is only a repeat of one already applied (its answer was lost
   * after the run's last commit closed it). Anything newer comes from a run this worker lost — it
   * restarted, or a newer run replaced it (a coordinator that lost the lead, a run stopped after
   * a lost worker) and discarded its writes —: committing it would commit nothing. The run ends as
   * for a lost worker (`E_WORKER_LOST`), and the job goes on from its last committed version.
   */
  private async assertCommitted(jobName: string, version: number, run: string): Promise<void> {
    const latest = (await this.options.store.latestVersion(jobName))?.version ?? 0;
    if (version <= latest) return;
    throw new MrmError(
      ErrorCode.WorkerLost,
      `merge worker ${this.options.id} has no run ${run} open (it restarted, or a newer run replaced it): version ${version} of job '${jobName}' is not committed here`,
      { details: { workerId: this.options.id } },
    );
  }

  /**
   * Opens runs of one job one after the other. A run-start that arrives while an older run of the
   * job is still opening (restoring partitions: its coordinator gave up on it, or took the lead
   * meanwhile) waits for it and then closes it; the same run-start sent again finds its run open.
   * Opened side by side, both restored the same partitions, and the older run, done last, stayed
   * open beside the newer one.
   */
  private startRun(start: RunStartMessage): Promise<void> {
    return this.oneAtATime(start.jobName, () => this.openRun(start));
  }

  /** Runs `work` after the run starts and restores of job `jobName` under way here (in order). */
  private async oneAtATime(jobName: string, work: () => Promise<void>): Promise<void> {
    const before = this.starting.get(jobName) ?? Promise.resolve();
    const mine = before.catch(() => {}).then(work);
    this.starting.set(jobName, mine);
    try {
      await mine;
    } finally {
      if (this.starting.get(jobName) === mine) this.starting.delete(jobName);
    }
  }

  /**
   * Restores partitions of a job between its runs (they moved here from a lost merge worker so
   * that queries can read them; decisions/0037), after any run start of the job under way here.
   */
  private restorePartitions(m: RestorePartitionsMessage): Promise<void> {
    return this.oneAtATime(m.jobName, async () => {
      if (this.lifecycle === 'closed') {
        throw new MrmError(ErrorCode.Aborted, `merge worker ${this.options.id} is closed: it restores nothing`);
      }
      const copies = new PartitionCopies(await this.copyTarget(), this.options.store, m.jobName, m.copies, this.logger);
      this.restoring++;
      try {
        await copies.restoreAllIfStale(
          m.copies.map((c) => c.partition),
          m.version,
        );
      } finally {
        this.restoring--;
      }
    });
  }

  private async openRun(start: RunStartMessage): Promise<void> {
    const key = runKey(start.jobId, start.run);
    if (this.runs.has(key)) return;
    if (this.lifecycle !== 'running') {
      throw new MrmError(ErrorCode.Aborted, `merge worker ${this.options.id} is ${this.lifecycle}: it starts no run`);
    }
    // An older run of the same job still open here (its coordinator died) must not write again:
    // close it, waiting for its writes, before the new run discards uncommitted versions.
    for (const [other, run] of [...this.runs]) {
      if (run.start.jobName !== start.jobName) continue;
      this.logger.warn('closing an older run of the job', { run: other, newRun: key });
      this.runs.delete(other);
      await run.close();
    }
    const job = await this.options.loadJob(start.job);
    const copyTarget = start.copies !== undefined ? await this.copyTarget() : undefined;
    this.restoring++;
    try {
      const run = await MergeRun.open(
        start,
        job,
        this.options.store,
        this.options.id,
        this.report,
        this.logger,
        this.forwardPartials,
        this.options.metrics,
        copyTarget,
      );
      this.runs.set(key, run);
    } finally {
      this.restoring--;
    }
  }

  /** The blob store and the leases bucket (opened once). */
  private copyTarget(): Promise<CopyTarget> {
    const { transport } = this.options;
    this.copyTargetOpening ??= transport.bucket(LEASES_BUCKET).then((leases) => ({ blobs: transport.blobs, leases }));
    return this.copyTargetOpening;
  }

  private async closeRun(jobId: string, run: number, rollbackTo?: number): Promise<void> {
    const key = runKey(jobId, run);
    const r = this.runs.get(key);
    this.runs.delete(key);
    if (r !== undefined) {
      this.finishedSpilledBytes += r.spilledBytes;
      await r.close(rollbackTo);
      this.notifyIdle();
    } else if (rollbackTo !== undefined) throw new MrmError(ErrorCode.State, `no run ${key} to roll back`);
  }

  private onData(payload: Uint8Array): void {
    let received: ReturnType<PartAssembler['receive']>;
    try {
      received = this.parts.receive(payload);
    } catch (e) {
      this.logger.warn('dropped an undecodable frame', { error: String(e) });
      return;
    }
    if (received === undefined) return;
    const { message: m, bytes: size } = received;
    if (m.type === 'partials') {
      this.runs.get(`${m.jobId}/${m.run}`)?.onPartials(m);
      return;
    }
    if (m.type !== 'frame' && m.type !== 'batch-end') return;
    this.framesReceived++;
    this.bytesReceived += size;
    this.options.metrics?.add('mrm_frames_received_total', 1);
    this.options.metrics?.add('mrm_bytes_received_total', size);
    const run = this.runs.get(runKey(m.jobId, m.run));
    if (run !== undefined) {
      if (m.type === 'frame') run.onFrame(m, size);
      else run.onBatchEnd(m);
    }
    // Credit goes back once the frame is absorbed (or dropped), whatever happened to it.
    this.options.transport.publish(
      { kind: 'credits', workerId: m.from },
      encodeMessage({ type: 'credit', from: this.options.id, bytes: size }),
    );
  }

  /** Sends again the progress reports of every run (after the transport reconnected). */
  resendReports(): void {
    for (const run of this.runs.values()) run.resendReports();
  }

  /** What the worker is doing now, for heartbeats (the watchdog names it when a job stalls). */
  phase(): string {
    if (this.restoring > 0) return 'restoring partition state';
    const phases = [...this.runs.values()].map((r) => r.phase());
    return phases.length > 0 ? phases.join('; ') : 'idle';
  }

  /** Counters for metrics. */
  stats(): MergeWorkerStats {
    let spilledBytes = this.finishedSpilledBytes;
    for (const run of this.runs.values()) spilledBytes += run.spilledBytes;
    return {
      framesReceived: this.framesReceived,
      bytesReceived: this.bytesReceived,
      runs: this.runs.size,
      spilledBytes,
    };
  }

  private notifyIdle(): void {
    if (this.runs.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Starts no new run and resolves when the open ones have closed (committed their last version
   * or rolled back, as the coordinator says); frames, commits and queries are still served.
   */
  async drain(): Promise<void> {
    if (this.lifecycle === 'running') this.lifecycle = 'draining';
    if (this.runs.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops taking messages and closes open runs, waiting for their writes in flight (what they
   * never committed is discarded when their job runs next, by design).
   */
  async close(): Promise<void> {
    if (this.lifecycle === 'closed') return;
    this.lifecycle = 'closed';
    this.unlisten?.();
    for (const s of this.subscriptions) s.unsubscribe();
    const open = [...this.runs.values()];
    this.runs.clear();
    await Promise.all(open.map((r) => r.close()));
    this.notifyIdle();
  }
}
