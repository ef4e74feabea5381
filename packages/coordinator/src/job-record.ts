/**
 * The coordinator's durable records in its RecordStore metadata: the job's shape (fixed at the
 * first run), plans of sources by path, and the ids of the batches committed in each version.
 * Every metadata name is built here.
 */
import { createHash } from 'node:crypto';
import { ErrorCode, MrmError, type RecordStore, type ResolvedJob } from '@mrm/core';
import type { FoldedPlan, SourcePlan } from '@mrm/input';
import { codeFingerprint } from './code-fingerprint.js';

/** The shape of a job's state, fixed by its first run. */
export interface JobShape {
  readonly partitions: number;
  readonly incremental: boolean;
  /** Content hash of the job bundle of the latest run (for `finalize` at query time). */
  readonly bundleHash: string;
  /** Runs started so far. */
  readonly runs: number;
  /** {@link codeFingerprint} of the code that built the committed state (absent in older stores). */
  readonly code?: string;
  /** Set by {@link JobRecord.reset}: the next run may change partitions and kind. */
  readonly reset?: boolean;
}

const SHAPE = 'shape';
const PLAN_PREFIX = 'plan:';
const planName = (path: string) => `${PLAN_PREFIX}${createHash('sha256').update(path).digest('hex').slice(0, 32)}`;
const BATCHES_PREFIX = 'batches@';
const batchesName = (version: number) => `${BATCHES_PREFIX}${String(version).padStart(12, '0')}`;
const FOLDED_PREFIX = 'folded:';
const foldedName = (identity: string) =>
  `${FOLDED_PREFIX}${createHash('sha256').update(identity).digest('hex').slice(0, 32)}`;

/**
 * The ids of a source's folded plan entries that count as merged (decisions/0039), each with the
 * newest version any batch folded into it was committed in. Normally one; two while a fold is
 * under way (the new one is recorded before the plan names it, the old one dropped after).
 */
interface FoldedRecord {
  readonly entries: ReadonlyArray<{ readonly id: string; readonly version: number }>;
}

/** Reads and writes the coordinator's records of one job. */
export class JobRecord {
  constructor(
    private readonly store: RecordStore,
    readonly name: string,
  ) {}

  /** The stored shape, or undefined before the first run. */
  shape(): Promise<JobShape | undefined> {
    return this.store.getMeta<JobShape>(this.name, SHAPE);
  }

  /**
   * Checks that the code of an incremental job is the code that built its committed state
   * (`latest`): merging a new batch with other code into that state mixes two meanings (a sum
   * state fed to topK's merge fails, or worse, succeeds with a wrong answer). Throws one line that
   * says so and what to do. See docs/job-api.md, "Changing a job's code".
   */
  async checkCode(job: ResolvedJob, latest: number): Promise<void> {
    const shape = await this.shape();
    if (shape?.code === undefined || !job.incremental || !shape.incremental) return;
    const code = codeFingerprint(job);
    if (shape.code === code) return;
    throw new MrmError(
      ErrorCode.State,
      `the code of job '${job.name}' changed since version ${latest} (its combine, reduce or merge is not the code that built the state): give the new code another job name, start the state over with --reset, or merge into the old state anyway with --allow-code-change`,
      { details: { job: job.name, version: latest } },
    );
  }

  /**
   * Starts the job's state over (`--reset`): every version and partition write is discarded,
   * and the batch records with them, so every input is merged again. Plans of sources stay (they
   * describe the input, not the state).
   */
  async reset(): Promise<void> {
    await this.store.discardAbove(this.name, 0);
    await this.forgetAbove(0);
    const shape = await this.shape();
    if (shape !== undefined) await this.store.putMeta(this.name, SHAPE, { ...shape, reset: true } satisfies JobShape);
  }

  /**
   * Checks the job against its stored shape and records the start of a run; returns the run
   * number. A job whose partitions or kind (incremental or not) changed cannot reuse the state
   * (unless it was just {@link reset}).
   */
  async beginRun(job: ResolvedJob, bundleHash: string): Promise<number> {
    const shape = await this.shape();
    if (shape !== undefined && shape.reset !== true) {
      if (shape.partitions !== job.partitions) {
        throw new MrmError(
          ErrorCode.State,
          `job '${job.name}' has state with ${shape.partitions} partitions; the job now asks for ${job.partitions} (use another --state or job name)`,
        );
      }
      if (shape.incremental !== job.incremental) {
        throw new MrmError(
          ErrorCode.State,
          `job '${job.name}' has state of a ${shape.incremental ? 'job with merge' : 'job without merge'}; the job now ${job.incremental ? 'has' : 'has no'} merge (use another --state or job name)`,
        );
      }
    }
    const runs = (shape?.runs ?? 0) + 1;
    await this.store.putMeta(this.name, SHAPE, {
      partitions: job.partitions,
      incremental: job.incremental,
      // The code of the committed state stays recorded until a run of other code commits.
      code: shape?.reset === true ? undefined : (shape?.code ?? codeFingerprint(job)),
      // The code that made the committed versions stays the one queries finalize with until a
      // run of the new code commits (see `recordBundle`).
      bundleHash: shape?.bundleHash ?? bundleHash,
      runs,
    } satisfies JobShape);
    return runs;
  }

  /**
   * After a run committed versions: queries finalize with the code of that run from now on, and
   * the state is recorded as built by it.
   */
  async recordBundle(bundleHash: string, job: ResolvedJob): Promise<void> {
    const shape = await this.shape();
    const code = codeFingerprint(job);
    if (shape === undefined || (shape.bundleHash === bundleHash && shape.code === code)) return;
    await this.store.putMeta(this.name, SHAPE, { ...shape, bundleHash, code } satisfies JobShape);
  }

  /** The plan stored for a source (by identity) by an earlier run. */
  plan(identity: string): Promise<SourcePlan | undefined> {
    return this.store.getMeta<SourcePlan>(this.name, planName(identity));
  }

  /** Stores a source's plan (before any of its batches is dispatched). */
  savePlan(plan: SourcePlan): Promise<void> {
    return this.store.putMeta(this.name, planName(plan.identity), plan);
  }

  /**
   * Forgets a source's plan: a stream segment's, once its version is committed and the cursor has
   * moved past it (it is never planned again).
   */
  forgetPlan(identity: string): Promise<void> {
    return this.store.deleteMeta(this.name, planName(identity));
  }

  /**
   * Forgets everything recorded of a source no run will plan again (a followed file's generation
   * rotated away and read to its end, decisions/0049): its batch ids leave the version records,
   * then its folded record goes, then its plan. The plan goes last: one left behind by a crash
   * names what may be left, and the caller's next sweep of {@link plans} finishes the work.
   */
  async forgetSource(identity: string): Promise<void> {
    const ids = new Set((await this.plan(identity))?.batches.map((b) => b.batchId) ?? []);
    await this.dropIds(await this.recordsHolding(ids), ids);
    await this.store.deleteMeta(this.name, foldedName(identity));
    await this.forgetPlan(identity);
  }

  /**
   * Forgets the batch ids of `versions` (a stream's: versions below the oldest one kept whose
   * segments the cursor has moved past, so those batches are never planned again).
   */
  async forgetVersionBatches(versions: readonly number[]): Promise<void> {
    for (const v of versions) await this.store.deleteMeta(this.name, batchesName(v));
  }

  /**
   * Records the batch ids a version will commit (written before the commit; see
   * docs/architecture.md). A version without batches (an idle mark) records nothing: an empty
   * record would say nothing, and one per idle mark would pile up.
   */
  async saveVersionBatches(version: number, batchIds: readonly string[]): Promise<void> {
    if (batchIds.length > 0) await this.store.putMeta(this.name, batchesName(version), batchIds);
  }

  /**
   * Stores `folded.plan` in place of the source's plan, its folded entry recorded as merged and
   * the batch ids folded into it no longer recorded (decisions/0039). Crash-safe in this order:
   * the new id is recorded as merged (beside the old folded one, if any), then the plan is
   * written, then the folded ids leave their version records and the old folded id its record —
   * at every point, every entry of the stored plan that was merged is recorded as merged.
   * Returns false, changing nothing, when some folded id is not recorded as committed (the
   * caller then stores the plan unfolded).
   */
  async saveFoldedPlan(folded: FoldedPlan): Promise<boolean> {
    const ids = new Set(folded.foldedIds);
    const found = new Set<string>();
    let version = 0;
    const holding = await this.recordsHolding(ids);
    for (const [recordName, recorded] of holding) {
      version = Math.max(version, Number(recordName.slice(BATCHES_PREFIX.length)));
      for (const id of recorded) if (ids.has(id)) found.add(id);
    }
    const name = foldedName(folded.plan.identity);
    const before = (await this.store.getMeta<FoldedRecord>(this.name, name))?.entries ?? [];
    for (const e of before) {
      if (!ids.has(e.id)) continue;
      found.add(e.id);
      version = Math.max(version, e.version);
    }
    if (found.size !== ids.size) return false;
    const entry = { id: folded.batchId, version };
    await this.store.putMeta(this.name, name, { entries: [...before, entry] } satisfies FoldedRecord);
    await this.savePlan(folded.plan);
    await this.dropIds(holding, ids);
    await this.store.putMeta(this.name, name, { entries: [entry] } satisfies FoldedRecord);
    return true;
  }

  /**
   * Ids of every batch in committed versions up to `latest`; records of versions above it (never
   * committed) are deleted.
   */
  async committedBatches(latest: number): Promise<Set<string>> {
    const merged = new Set<string>();
    for (const name of await this.store.listMeta(this.name, BATCHES_PREFIX)) {
      const version = Number(name.slice(BATCHES_PREFIX.length));
      if (version > latest) {
        await this.store.deleteMeta(this.name, name);
        continue;
      }
      for (const id of (await this.store.getMeta<string[]>(this.name, name)) ?? []) merged.add(id);
    }
    for (const entry of await this.foldedAtMost(latest)) merged.add(entry.id);
    return merged;
  }

  /** Drops the batch records of versions above `version` (a failed run). */
  async forgetAbove(version: number): Promise<void> {
    for (const name of await this.store.listMeta(this.name, BATCHES_PREFIX)) {
      if (Number(name.slice(BATCHES_PREFIX.length)) > version) await this.store.deleteMeta(this.name, name);
    }
    await this.foldedAtMost(version);
  }

  /**
   * The versions whose batch records hold any of `ids`, oldest first (a stream segment replayed
   * after its version had committed: the version its batches are recorded in).
   */
  async versionsHolding(ids: ReadonlySet<string>): Promise<number[]> {
    const names = [...(await this.recordsHolding(ids)).keys()];
    return names.map((name) => Number(name.slice(BATCHES_PREFIX.length))).sort((a, b) => a - b);
  }

  /** Rewrites each of `holding`'s batch records without `ids` (deletes one left empty). */
  private async dropIds(holding: ReadonlyMap<string, string[]>, ids: ReadonlySet<string>): Promise<void> {
    for (const [recordName, recorded] of holding) {
      const left = recorded.filter((id) => !ids.has(id));
      if (left.length === 0) await this.store.deleteMeta(this.name, recordName);
      else await this.store.putMeta(this.name, recordName, left);
    }
  }

  /** The batch records (by name) that hold any of `ids`, with every id each holds. */
  private async recordsHolding(ids: ReadonlySet<string>): Promise<Map<string, string[]>> {
    const holding = new Map<string, string[]>();
    for (const name of await this.store.listMeta(this.name, BATCHES_PREFIX)) {
      const recorded = (await this.store.getMeta<string[]>(this.name, name)) ?? [];
      if (recorded.some((id) => ids.has(id))) holding.set(name, recorded);
    }
    return holding;
  }

  /** Every stored plan of the job (a stream's clean-up looks for segments the cursor moved past). */
  async plans(): Promise<SourcePlan[]> {
    const plans: SourcePlan[] = [];
    for (const name of await this.store.listMeta(this.name, PLAN_PREFIX)) {
      const plan = await this.store.getMeta<SourcePlan>(this.name, name);
      if (plan !== undefined) plans.push(plan);
    }
    return plans;
  }

  /** Every folded entry recorded as merged by `version`; those recorded above it are dropped. */
  private async foldedAtMost(version: number): Promise<FoldedRecord['entries']> {
    const kept: Array<FoldedRecord['entries'][number]> = [];
    for (const name of await this.store.listMeta(this.name, FOLDED_PREFIX)) {
      const entries = (await this.store.getMeta<FoldedRecord>(this.name, name))?.entries ?? [];
      const below = entries.filter((e) => e.version <= version);
      if (below.length === 0) await this.store.deleteMeta(this.name, name);
      else if (below.length !== entries.length) await this.store.putMeta(this.name, name, { entries: below });
      kept.push(...below);
    }
    return kept;
  }
}
