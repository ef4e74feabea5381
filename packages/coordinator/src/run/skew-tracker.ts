/**
 * The coordinator's side of salting (docs/decisions/0016-salted-hot-keys.md): adds up the heavy
 * keys map tasks report, decides which keys the next dispatched task salts and by what factor,
 * turns salting off for the run when a task's associativity check fails, and counts the pairs
 * each merge worker reduced (the `balance` that `mrm status` shows).
 */
import {
  declaresAssociative,
  HeavyKeys,
  type HotKey,
  hotFactor,
  maxFactorFor,
  type ResolvedJob,
  type ResolvedSalt,
  type SaltPlan,
  type SkewStatus,
  type TaskDoneMessage,
} from '@mrm/core';

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
    // Named keys: exactly those, from the first batch on.
    if (s.mode === 'fixed' && s.keys !== undefined) {
      return { keys: s.keys, factors: s.keys.map(() => Math.min(s.factor, limit)), check: this.check };
    }
    const fixed = s.mode === 'fixed' ? s.factor : 0;
    const keys: string[] = [];
    const factors: number[] = [];
    if (this.heavy.total >= MIN_PAIRS_TO_DECIDE) {
      const flat = this.heavy.toFlat();
      for (let i = 0; i + 1 < flat.length && keys.length < MAX_HOT_KEYS; i += 2) {
        const share = (flat[i + 1] as number) / this.heavy.total;
        const factor = hotFactor(share, this.job.partitions, this.mergeWorkers.length, fixed);
        if (factor === 0) break;
        keys.push(flat[i] as string);
        factors.push(factor);
      }
    }
    // The map task adds the keys hot in its own batches (salting starts before any report).
    return { keys, factors, check: this.check, detect: { factor: fixed } };
  }

  /** Adds a finished task's heavy keys and what salting did in it. */
  onTaskDone(m: TaskDoneMessage): void {
    if (m.heavy !== undefined) {
      this.heavy.addFlat(m.heavy);
      this.heavy.total += m.pairs ?? 0;
    }
    const outcome = m.salting;
    if (outcome === undefined) return;
    this.saltedBatches += outcome.batches;
    const keys = outcome.keys ?? [];
    for (let i = 0; i + 1 < keys.length; i += 2) {
      const k = keys[i] as string;
      this.salted.set(k, Math.max(this.salted.get(k) ?? 0, keys[i + 1] as number));
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
