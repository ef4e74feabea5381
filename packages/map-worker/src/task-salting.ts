/**
 * Salting across the batches of one map task: counts the heaviest keys for the coordinator, and
 * decides per batch what is salted — the keys of the task's salt plan and, with `auto`, the keys
 * hot in the batch itself (so salting starts with the first batch). A job whose functions do not
 * declare associativity is checked first on this task's own values of a hot key
 * (`checkAssociative`): until a check passes nothing is salted, and after one fails nothing is.
 * Everything depends on the task's data only, so a replayed task salts the same batches the same
 * way.
 */
import {
  checkAssociative,
  errorMessage,
  HeavyKeys,
  HOT_SHARE_OF_PARTITION,
  hotFactor,
  keyOf,
  type MapTask,
  type ResolvedJob,
  type SaltingOutcome,
  type SaltPlan,
} from '@mrm/core';
import type { BatchCollector } from './batch-collector.js';
import { SaltRouter } from './salt-router.js';

/** The task's heavy keys and what salting did, for its `task-done`. */
export interface TaskSkewReport {
  readonly pairs: number;
  readonly heavy: unknown[];
  readonly salting?: SaltingOutcome;
}

/** Most keys one batch salts. */
const MAX_HOT_KEYS_PER_BATCH = 16;

/** Salting state of one running map task. */
export class TaskSalting {
  readonly heavy = new HeavyKeys();
  private verdict: 'ok' | 'failed' | undefined;
  private refused: string | undefined;
  private saltedBatches = 0;
  private readonly saltedKeys = new Map<string, number>();
  private readonly workers: number;

  constructor(
    private readonly task: MapTask,
    private readonly job: ResolvedJob,
  ) {
    if (task.saltPlan?.check === false) this.verdict = 'ok';
    this.workers = new Set(task.owners).size;
  }

  /** The router for a batch (salting or not), after checking associativity when still needed. */
  routerFor(seq: number, collector: BatchCollector): SaltRouter | undefined {
    const plan = this.batchPlan(collector);
    if (plan === undefined || plan.keys.length === 0) return undefined;
    if (this.verdict === undefined) this.check(plan.keys, collector);
    if (this.verdict !== 'ok') return undefined;
    const router = new SaltRouter(plan, this.task.partitions, seq);
    if (router.active) {
      this.saltedBatches++;
      plan.keys.forEach((k, i) => {
        this.saltedKeys.set(k, Math.max(this.saltedKeys.get(k) ?? 0, plan.factors[i] ?? 0));
      });
    }
    return router;
  }

  /** The task's plan plus, with `auto`, the keys hot in this batch (pushed pairs: none with combine). */
  private batchPlan(collector: BatchCollector): SaltPlan | undefined {
    const plan = this.task.saltPlan;
    if (plan?.detect === undefined || this.job.combine !== undefined || this.job.fold !== undefined) return plan;
    const { partitions } = this.task;
    const keys = [...plan.keys];
    const factors = [...plan.factors];
    const { total, keys: heavy } = collector.heaviest(HOT_SHARE_OF_PARTITION / partitions);
    for (const [ck, n] of heavy) {
      if (keys.length >= MAX_HOT_KEYS_PER_BATCH) break;
      if (keys.includes(ck)) continue;
      const factor = hotFactor(n / Math.max(1, total), partitions, this.workers, plan.detect.factor);
      if (factor === 0) continue;
      keys.push(ck);
      factors.push(factor);
    }
    return { ...plan, keys, factors };
  }

  private check(keys: readonly string[], collector: BatchCollector): void {
    for (const ck of keys) {
      const values = collector.valuesOf(ck);
      if (values === undefined) continue;
      let result: ReturnType<typeof checkAssociative>;
      try {
        result = checkAssociative(this.job, keyOf(ck), values);
      } catch (e) {
        result = { ok: false, reason: `reduce or merge threw on a sample of its values: ${errorMessage(e)}` };
      }
      if (result === undefined) continue;
      if (result.ok) {
        this.verdict = 'ok';
        return;
      }
      this.verdict = 'failed';
      this.refused = `not salted: the job's merge is not associative on key ${ck} (${result.reason})`;
      return;
    }
    this.refused = 'not salted: too few values of a hot key in a batch to check that the job may be salted';
  }

  /** What to report with the task's `task-done`. */
  report(): TaskSkewReport {
    const keys: unknown[] = [];
    for (const [k, f] of this.saltedKeys) keys.push(k, f);
    const salting: SaltingOutcome | undefined =
      this.task.saltPlan === undefined
        ? undefined
        : {
            batches: this.saltedBatches,
            ...(keys.length > 0 ? { keys } : {}),
            ...(this.refused !== undefined && this.verdict !== 'ok' ? { refused: this.refused } : {}),
            ...(this.verdict === 'failed' ? { failed: true } : {}),
          };
    return {
      pairs: this.heavy.total,
      heavy: this.heavy.toFlat(),
      ...(salting !== undefined ? { salting } : {}),
    };
  }
}
