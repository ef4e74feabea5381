/**
 * The map workers of a run by load (tasks in flight), so that picking the least loaded one costs
 * the same with 2 workers as with 200: workers sit in one bucket per load, and the lowest
 * non-empty bucket is tracked as loads change (issue 14, goal 5: no cost per task that grows with
 * the worker count). Within a bucket the worker that entered it first is picked first, so equal
 * workers take tasks in turn.
 */
export class LeastLoaded {
  private readonly loads = new Map<string, number>();
  /** `buckets[n]`: the workers with `n` tasks in flight, in the order they got there. */
  private readonly buckets: Set<string>[] = [];
  /** The lowest load any worker has (its bucket is non-empty unless there are no workers). */
  private lowest = 0;

  constructor(workers: readonly string[]) {
    for (const w of workers) this.add(w);
  }

  /** Workers known. */
  get size(): number {
    return this.loads.size;
  }

  /** The tasks in flight on `worker` (undefined: not one of the workers). */
  loadOf(worker: string): number | undefined {
    return this.loads.get(worker);
  }

  /** A worker with the fewest tasks in flight; undefined when there is none. */
  pick(): string | undefined {
    for (const w of this.buckets[this.lowest] ?? []) return w;
    return undefined;
  }

  /** Adds `worker` with no task in flight (nothing when it is known already). */
  add(worker: string): void {
    if (this.loads.has(worker)) return;
    this.place(worker, 0);
    this.lowest = 0;
  }

  /** Forgets `worker` (a lost map worker). */
  remove(worker: string): void {
    const load = this.loads.get(worker);
    if (load === undefined) return;
    this.loads.delete(worker);
    this.buckets[load]?.delete(worker);
    this.raiseLowest();
  }

  /** One more task in flight on `worker`. */
  increment(worker: string): void {
    const load = this.loads.get(worker);
    if (load === undefined) return;
    this.buckets[load]?.delete(worker);
    this.place(worker, load + 1);
    this.raiseLowest();
  }

  /** One task fewer in flight on `worker` (never below none). */
  decrement(worker: string): void {
    const load = this.loads.get(worker);
    if (load === undefined || load === 0) return;
    this.buckets[load]?.delete(worker);
    this.place(worker, load - 1);
    if (load - 1 < this.lowest) this.lowest = load - 1;
  }

  private place(worker: string, load: number): void {
    this.loads.set(worker, load);
    let bucket = this.buckets[load];
    if (bucket === undefined) {
      for (let n = this.buckets.length; n <= load; n++) this.buckets.push(new Set());
      bucket = this.buckets[load] as Set<string>;
    }
    bucket.add(worker);
  }

  /** Moves `lowest` up past emptied buckets (each step passes a bucket once: amortised O(1)). */
  private raiseLowest(): void {
    if (this.loads.size === 0) {
      this.lowest = 0;
      return;
    }
    while ((this.buckets[this.lowest]?.size ?? 0) === 0 && this.lowest < this.buckets.length - 1) this.lowest++;
  }
}
