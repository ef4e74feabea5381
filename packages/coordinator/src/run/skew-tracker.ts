/**
 * The coordinator's side of salting (docs/decisions/0011-salted-hot-keys.md): adds up the heavy
 * keys map tasks report, decides which keys the next dispatched task salts and by what factor,
 * turns salting off for the run when a task's associativity check fails, and counts the pairs
 * each merge worker reduced (the `balance` that `mrm status` shows).
 */
import {
  declaresAssociative,
  HeavyKeys,
  type HotKey,
  maxFactorFor,
  type ResolvedJob,
  type ResolvedSalt,
  type SaltPlan,
  type SkewStatus,
  type TaskDoneMessage,
} from '@mrm/core';

/** A key is hot when it pushed at least this share of all pairs ÷ partitions. */
export const HOT_SHARE_OF_PARTITION = 0.5;
/** Pairs seen before anything is declared hot. */
export const MIN_PAIRS_TO_DECIDE = 1024;
/** Most keys salted at once. */
export const MAX_HOT_KEYS = 16;

/** Decides salting for one run and keeps its skew figures. */
export class SkewTracker {
  private readonly heavy = new HeavyKeys(4 * MAX_HOT_KEYS);
  private readonly pairsByWorker = new Map<string, number>();
  private readonly salted = new Map<string, number>();
  private saltedBatches = 0;
  private warning: string | undefined;
  /** False once salting is off for good in this run. */
  private enabled: boolean;
  private readonly check: boolean;

  constructor(
    private readonly job: ResolvedJob,
    private readonly setting: ResolvedSalt,
    private readonly mergeWorkers: readonly string[],
  ) {
    for (const w of mergeWorkers) this.pairsByWorker.set(w, 0);
    this.check = !declaresAssociative(job);
    this.enabled = setting.mode !== 'off';
    if (this.enabled && !job.incremental) {
      this.enabled = false;
      if (setting.mode === 'fixed') {
        this.warning = 'not salted: a job without merge (plain MapReduce) reduces once per run';
      }
    } else if (this.enabled && maxFactorFor(job.partitions) < 2) {
      this.enabled = false;
      if (setting.mode === 'fixed') this.warning = `not salted: the job has only ${job.partitions} partitions`;
    }
  }

  /** The salt plan for a task dispatched now (undefined: salt nothing). */
  planFor(): SaltPlan | undefined {
    if (!this.enabled) return undefined;
    const s = this.setting;
    const limit = maxFactorFor(this.job.partitions);
    if (s.mode === 'fixed' && s.keys !== undefined) {
      return { keys: s.keys, factors: s.keys.map(() => Math.min(s.factor, limit)), check: this.check };
    }
    if (this.heavy.total < MIN_PAIRS_TO_DECIDE) return undefined;
    const keys: string[] = [];
    const factors: number[] = [];
    const { partitions } = this.job;
    const workers = Math.max(1, this.mergeWorkers.length);
    const flat = this.heavy.toFlat();
    for (let i = 0; i + 1 < flat.length && keys.length < MAX_HOT_KEYS; i += 2) {
      const share = (flat[i + 1] as number) / this.heavy.total;
      if (share * partitions < HOT_SHARE_OF_PARTITION) break;
      // Sub-keys of about half a partition's share each, in whole rounds over the merge workers.
      const wanted = Math.ceil((share * partitions) / HOT_SHARE_OF_PARTITION);
      const factor = s.mode === 'fixed' ? s.factor : Math.ceil(wanted / workers) * workers;
      keys.push(flat[i] as string);
      factors.push(Math.max(2, Math.min(factor, limit)));
    }
    return keys.length === 0 ? undefined : { keys, factors, check: this.check };
  }

  /** Adds a finished task's heavy keys and what salting did in it. */
  onTaskDone(m: TaskDoneMessage, plan: SaltPlan | undefined): void {
    if (m.heavy !== undefined) {
      this.heavy.addFlat(m.heavy);
      this.heavy.total += m.pairs ?? 0;
    }
    const outcome = m.salting;
    if (outcome === undefined) return;
    this.saltedBatches += outcome.batches;
    if (outcome.batches > 0 && plan !== undefined) {
      plan.keys.forEach((k, i) => {
        this.salted.set(k, Math.max(this.salted.get(k) ?? 0, plan.factors[i] ?? 0));
      });
    }
    if (outcome.refused !== undefined && (outcome.failed === true || this.warning === undefined)) {
      this.warning = outcome.refused;
    }
    if (outcome.failed === true) this.enabled = false;
  }

  /** Adds the pairs a merge worker reduced for one batch. */
  onMerged(worker: string, pairs: number): void {
    this.pairsByWorker.set(worker, (this.pairsByWorker.get(worker) ?? 0) + pairs);
  }

  /** The run's skew figures for status and the run summary. */
  status(): SkewStatus {
    const loads = [...this.pairsByWorker.values()];
    const total = loads.reduce((a, b) => a + b, 0);
    const mean = loads.length === 0 ? 0 : total / loads.length;
    const balance = mean === 0 ? 1 : Math.max(...loads) / mean;
    const hotKeys: HotKey[] = [...this.salted].map(([key, factor]) => ({ key, factor }));
    // A warning about a check that could not be made is moot once batches were salted.
    const warning =
      this.warning !== undefined && (this.saltedBatches === 0 || !this.enabled) ? this.warning : undefined;
    return {
      pairsByWorker: Object.fromEntries(this.pairsByWorker),
      balance: Math.round(balance * 1000) / 1000,
      hotKeys,
      saltedBatches: this.saltedBatches,
      mode: this.setting.mode,
      ...(warning !== undefined ? { warning } : {}),
    };
  }
}
