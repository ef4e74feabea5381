/**
 * The one place a version is committed. When every merge worker reported `checkpoint-written`
 * for a version, it builds the version's {@link VersionInfo} once (one `createdAtMs`, from the
 * run's clock), records the version's batch ids, asks every merge worker to commit exactly that
 * info (`commit-version`), then commits it in the coordinator's store — versions strictly in order.
 */
import {
  type CheckpointWrittenMessage,
  commitIfNewer,
  encodeMessage,
  pruneVersions,
  sumStateDigests,
  type VersionInfo,
} from '@mrm/core';
import type { MergeRequests } from './merge-requests.js';
import type { MergeTracker } from './merge-tracker.js';
import { firstVersionOf, type JobRunContext, versionCountOf } from './run-context.js';

/** Callbacks of {@link VersionCommitter}. */
export interface VersionCommitterEvents {
  /** A version is committed everywhere; `last` for the run's last one. */
  readonly committed: (info: VersionInfo, last: boolean) => void;
  /** Committing failed: the run must fail. */
  readonly failed: (error: unknown) => void;
}

/** Commits a run's versions in order. */
export class VersionCommitter {
  /** Per version: reports of merge workers, by worker. */
  private readonly written = new Map<number, Map<string, CheckpointWrittenMessage>>();
  /** Versions every merge worker wrote, waiting for the ones before them to commit. */
  private readonly ready = new Map<number, { throughSeq: number; reports: CheckpointWrittenMessage[] }>();
  /** The next version to hand to the commit chain. */
  private nextVersion: number;
  /** The first batch of that version: one past the batches of the version before it. */
  private nextFromSeq = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly committedVersions: VersionInfo[] = [];
  private stopped = false;
  private deadLetterCount = 0;
  private lateRecordCount = 0;

  constructor(
    private readonly ctx: JobRunContext,
    private readonly merged: MergeTracker,
    private readonly requests: MergeRequests,
    private readonly events: VersionCommitterEvents,
  ) {
    this.nextVersion = firstVersionOf(ctx);
  }

  /** The merge workers that wrote `version` so far (while not every one has). */
  writersOf(version: number): ReadonlySet<string> | undefined {
    const reports = this.written.get(version);
    return reports === undefined ? undefined : new Set(reports.keys());
  }

  /** Records and keys set aside as dead letters in the versions committed so far. */
  get deadLetters(): number {
    return this.deadLetterCount;
  }

  /** Late records (a window with lateness) in the versions committed so far. */
  get lateRecords(): number {
    return this.lateRecordCount;
  }

  /** Versions committed so far, in order. */
  get versions(): readonly VersionInfo[] {
    return this.committedVersions;
  }

  /**
   * Takes a `checkpoint-written`; once every merge worker wrote the version, commits it — strictly
   * after every version before it, whatever order the reports arrive in.
   */
  onCheckpointWritten(m: CheckpointWrittenMessage): void {
    if (this.stopped || m.version < this.nextVersion || this.ready.has(m.version)) return;
    const reports = this.written.get(m.version) ?? new Map<string, CheckpointWrittenMessage>();
    reports.set(m.from, m);
    this.written.set(m.version, reports);
    if (reports.size < this.ctx.mergeWorkers.length) return;
    this.written.delete(m.version);
    this.ready.set(m.version, { throughSeq: m.throughSeq, reports: [...reports.values()] });
    for (let next = this.ready.get(this.nextVersion); next !== undefined; next = this.ready.get(this.nextVersion)) {
      const version = this.nextVersion++;
      const fromSeq = this.nextFromSeq;
      this.nextFromSeq = next.throughSeq + 1;
      this.ready.delete(version);
      this.chain = this.chain.then(() => this.commit(version, fromSeq, next.throughSeq, next.reports));
      this.chain.catch((e: unknown) => this.events.failed(e));
    }
  }

  /** Commits nothing more; resolves when a commit in progress has settled. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.chain.catch(() => {});
  }

  /** The info of a version of batches `fromSeq..throughSeq`, built once: what every store of the cluster keeps. */
  private versionInfo(
    version: number,
    fromSeq: number,
    throughSeq: number,
    reports: readonly CheckpointWrittenMessage[],
  ): VersionInfo {
    const { ctx } = this;
    const prev = this.committedVersions.at(-1) ?? ctx.base;
    const incremental = ctx.job.incremental;
    const state = sumStateDigests(reports.flatMap((r) => r.digests));
    const watermark = watermarkOf(reports, prev);
    const late = reports.reduce((n, r) => n + (r.lateRecords ?? 0), 0);
    const lateBefore = prev?.lateRecords;
    return {
      version,
      createdAtMs: ctx.clock.nowMs(),
      base: incremental ? (prev?.base ?? 0) : version,
      batches: (incremental ? (prev?.batches ?? 0) : 0) + (throughSeq + 1 - fromSeq),
      records: (incremental ? (prev?.records ?? 0) : 0) + this.merged.recordsBetween(fromSeq, throughSeq),
      keys: reports.reduce((n, r) => n + r.keyCounts.reduce((a, b) => a + b, 0), 0),
      label: labelOf(ctx, fromSeq, throughSeq),
      hash: state.hash,
      bytes: state.bytes,
      ...(watermark !== undefined ? { watermarkMs: watermark } : {}),
      ...(lateBefore !== undefined || late > 0 ? { lateRecords: (lateBefore ?? 0) + late } : {}),
    };
  }

  private async commit(
    version: number,
    fromSeq: number,
    throughSeq: number,
    reports: CheckpointWrittenMessage[],
  ): Promise<void> {
    if (this.stopped) return;
    const { ctx } = this;
    const startedMs = performance.now();
    const info = this.versionInfo(version, fromSeq, throughSeq, reports);
    // Fencing and the copies' manifest: only copies made under this run's leases become committed.
    await ctx.leases?.record(version, reports);
    await ctx.record.saveVersionBatches(version, ctx.plan.batchIds.slice(fromSeq, throughSeq + 1));
    // An open run (a stream) has no last version: it ends when it is stopped.
    const last = ctx.open !== true && version === firstVersionOf(ctx) + versionCountOf(ctx) - 1;
    const message = encodeMessage({
      type: 'commit-version',
      jobId: ctx.jobId,
      jobName: ctx.job.name,
      run: ctx.run,
      last,
      info,
      keepVersions: ctx.settings.keepVersions,
    });
    await Promise.all(
      ctx.mergeWorkers.map((worker) =>
        this.requests.idempotent(worker, message, `committing version ${version} on merge worker ${worker}`),
      ),
    );
    await commitIfNewer(ctx.store, ctx.job.name, info);
    await pruneVersions(ctx.store, ctx.job.name, ctx.settings.keepVersions);
    this.deadLetterCount += reports.reduce((n, r) => n + r.deadLetters, 0);
    this.lateRecordCount += reports.reduce((n, r) => n + (r.lateRecords ?? 0), 0);
    this.committedVersions.push(info);
    ctx.metrics?.observe('mrm_commit_duration_seconds', (performance.now() - startedMs) / 1000, { job: ctx.job.name });
    this.events.committed(info, last);
  }
}

/** What a version holds, for `mrm versions`: its batches of the run, or an idle stream's watermark advance. */
function labelOf(ctx: JobRunContext, fromSeq: number, throughSeq: number): string {
  if (ctx.open === true) {
    return throughSeq < fromSeq
      ? `${ctx.jobId}: idle stream, watermark advanced`
      : `${ctx.jobId}: stream batches ${fromSeq + 1}–${throughSeq + 1}`;
  }
  return `${ctx.jobId}: batches ${fromSeq + 1}–${throughSeq + 1} of ${ctx.plan.batchIds.length}`;
}

/**
 * The watermark of a version: what its merge workers report (they agree: every partition saw the
 * same batches), else the one before it (no event time in the version's batches).
 */
function watermarkOf(reports: readonly CheckpointWrittenMessage[], prev: VersionInfo | undefined): number | undefined {
  let w = prev?.watermarkMs;
  for (const r of reports) if (r.watermarkMs !== undefined && (w === undefined || r.watermarkMs > w)) w = r.watermarkMs;
  return w;
}
