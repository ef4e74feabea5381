/**
 * The one place a version is committed. When every merge worker reported `checkpoint-written`
 * for a version, it builds the version's {@link VersionInfo} once (one `createdAtMs`, from the
 * run's clock), records the version's batch ids, asks every merge worker to commit exactly that
 * info (`commit-version`), then commits it in the coordinator's store — versions strictly in order.
 *
 * Group commit (decisions/0029): one commit is in flight at a time, and it takes every version
 * ready at that moment (written everywhere, the ones before it committed or in the same group):
 * one lease check and manifest write, one `commit-version` request per merge worker carrying the
 * highest version and the ones below it, one write (one flush) in each store. Under a backlog the
 * cost of a commit is shared by every version that piled up while the one before was committing;
 * with nothing waiting a group is one version and nothing waits for a timer.
 */
import {
  type CheckpointWrittenMessage,
  commitIfNewer,
  encodeMessage,
  pruneVersions,
  sumStateDigests,
  traceStage,
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

/** A version every merge worker wrote: what its commit needs. */
export interface ReadyVersion {
  readonly version: number;
  readonly throughSeq: number;
  readonly reports: readonly CheckpointWrittenMessage[];
}

/** A ready version taken into a commit, with the first batch it holds. */
interface GroupedVersion extends ReadyVersion {
  /** One past the last batch of the version before it (a version of no batches: `throughSeq + 1`). */
  readonly fromSeq: number;
}

/** Commits a run's versions in order, every version ready at once in one group. */
export class VersionCommitter {
  /** Per version: reports of merge workers, by worker. */
  private readonly written = new Map<number, Map<string, CheckpointWrittenMessage>>();
  /** Versions every merge worker wrote, not yet taken into a commit. */
  private readonly ready = new Map<number, ReadyVersion>();
  /** The next version to take into a commit. */
  private nextVersion: number;
  /** The first batch of that version: one past the batches of the version before it. */
  private nextFromSeq = 0;
  /** The commit in flight (at most one), else undefined. */
  private committing: Promise<void> | undefined;
  private readonly committedVersions: VersionInfo[] = [];
  private stopped = false;
  private deadLetterCount = 0;
  private lateRecordCount = 0;
  private groupCount = 0;

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

  /** Commits (groups of versions) done so far: at most {@link versions}' length. */
  get commits(): number {
    return this.groupCount;
  }

  /**
   * Takes a `checkpoint-written`; once every merge worker wrote the version, commits it — strictly
   * after every version before it, whatever order the reports arrive in, together with every
   * other version ready when its commit starts.
   */
  onCheckpointWritten(m: CheckpointWrittenMessage): void {
    if (this.stopped || m.version < this.nextVersion || this.ready.has(m.version)) return;
    const reports = this.written.get(m.version) ?? new Map<string, CheckpointWrittenMessage>();
    reports.set(m.from, m);
    this.written.set(m.version, reports);
    if (reports.size < this.ctx.mergeWorkers.length) return;
    this.written.delete(m.version);
    this.ready.set(m.version, { version: m.version, throughSeq: m.throughSeq, reports: [...reports.values()] });
    this.pump();
  }

  /** Starts a commit of every version ready in order, unless one is in flight (it pumps again when done). */
  private pump(): void {
    if (this.stopped || this.committing !== undefined) return;
    const group: GroupedVersion[] = [];
    for (let next = this.ready.get(this.nextVersion); next !== undefined; next = this.ready.get(this.nextVersion)) {
      this.ready.delete(this.nextVersion++);
      group.push({ ...next, fromSeq: this.nextFromSeq });
      this.nextFromSeq = next.throughSeq + 1;
    }
    if (group.length === 0) return;
    this.committing = this.commit(group).then(
      () => {
        this.committing = undefined;
        this.pump();
      },
      (e: unknown) => {
        // The run fails; `stop` still waits for this commit to have settled.
        this.stopped = true;
        this.events.failed(e);
      },
    );
  }

  /** Commits nothing more; resolves when a commit in progress has settled. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.committing;
  }

  /** The info of version `v`, built once: what every store of the cluster keeps. `prev` is the version before it. */
  private versionInfo(v: GroupedVersion, prev: VersionInfo | undefined): VersionInfo {
    const { ctx } = this;
    const { version, fromSeq, throughSeq, reports } = v;
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

  /** Commits `group` (consecutive versions, the first right after the last committed) as one. */
  private async commit(group: readonly GroupedVersion[]): Promise<void> {
    if (this.stopped) return;
    const { ctx } = this;
    const startedMs = performance.now();
    const infos: VersionInfo[] = [];
    for (const v of group) {
      infos.push(this.versionInfo(v, infos.at(-1) ?? this.committedVersions.at(-1) ?? ctx.base));
    }
    const info = infos.at(-1) as VersionInfo;
    const trace = (stage: string) =>
      traceStage(ctx.logger, stage, { jobId: ctx.jobId, version: info.version, versions: infos.length });
    trace('coord.commit.start');
    // Fencing and the copies' manifest (only copies made under this run's leases become
    // committed), and the versions' batch ids, both before any merge worker commits: at once
    // (decisions/0042). Batch ids of a version that then fails to commit are dropped with the
    // records above the last committed version, like those of a commit that fails later.
    await Promise.all([
      ctx.leases?.record(group).then(() => trace('coord.commit.manifest')),
      ...group.map((v) =>
        ctx.record.saveVersionBatches(v.version, ctx.plan.batchIds.slice(v.fromSeq, v.throughSeq + 1)),
      ),
    ]);
    trace('coord.commit.batch-ids');
    // An open run (a stream) has no last version: it ends when it is stopped.
    const last = ctx.open !== true && info.version === firstVersionOf(ctx) + versionCountOf(ctx) - 1;
    const message = encodeMessage({
      type: 'commit-version',
      jobId: ctx.jobId,
      jobName: ctx.job.name,
      run: ctx.run,
      last,
      info,
      ...(infos.length > 1 ? { earlier: infos.slice(0, -1) } : {}),
      keepVersions: ctx.settings.keepVersions,
    });
    const what = infos.length > 1 ? `versions ${infos[0]?.version}–${info.version}` : `version ${info.version}`;
    await Promise.all(
      ctx.mergeWorkers.map((worker) =>
        this.requests.idempotent(worker, message, `committing ${what} on merge worker ${worker}`),
      ),
    );
    trace('coord.commit.acked');
    await commitIfNewer(ctx.store, ctx.job.name, infos);
    trace('coord.commit.stored');
    await pruneVersions(ctx.store, ctx.job.name, ctx.settings.keepVersions);
    trace('coord.commit.pruned');
    // The copies the manifest dropped went meanwhile; the next group starts after them.
    await ctx.leases?.dropped();
    trace('coord.commit.dropped');
    this.groupCount++;
    for (const [i, v] of group.entries()) {
      this.deadLetterCount += v.reports.reduce((n, r) => n + r.deadLetters, 0);
      this.lateRecordCount += v.reports.reduce((n, r) => n + (r.lateRecords ?? 0), 0);
      this.committedVersions.push(infos[i] as VersionInfo);
    }
    ctx.metrics?.observe('mrm_commit_duration_seconds', (performance.now() - startedMs) / 1000, { job: ctx.job.name });
    for (const [i, v] of infos.entries()) this.events.committed(v, last && i === infos.length - 1);
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
