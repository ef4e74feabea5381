/**
 * Which merge worker owns which partition. Ownership is sticky (a partition's state is in its
 * owner's store, and moving it costs a restore from its copies), so a new assignment keeps every
 * partition whose owner is alive, as long as that owner is within its fair share, and gives the
 * rest (a lost worker's partitions, a crowded worker's excess) to the live workers with room.
 */

/**
 * Balanced, sticky assignment of `partitions` to `live` workers, starting from `previous`
 * (undefined at a job's first run). Every worker ends with ⌊P/n⌋ or ⌈P/n⌉ partitions, and no
 * partition moves that need not.
 */
export function assignPartitions(
  previous: readonly string[] | undefined,
  live: readonly string[],
  partitions: number,
): string[] {
  if (live.length === 0) throw new Error('assignPartitions needs at least one live worker');
  const workers = [...new Set(live)].sort();
  const owners: (string | undefined)[] = Array.from({ length: partitions }, (_, p) => {
    const w = previous?.[p];
    return w !== undefined && workers.includes(w) ? w : undefined;
  });
  const load = new Map<string, number>(workers.map((w) => [w, 0]));
  for (const w of owners) if (w !== undefined) load.set(w, (load.get(w) ?? 0) + 1);
  // Caps sum to P: the most-loaded workers keep the ⌈P/n⌉ places, so fewer partitions move.
  const floor = Math.floor(partitions / workers.length);
  const byLoad = [...workers].sort((a, b) => (load.get(b) ?? 0) - (load.get(a) ?? 0) || (a < b ? -1 : 1));
  const cap = new Map(byLoad.map((w, i) => [w, floor + (i < partitions % workers.length ? 1 : 0)]));
  const loadOf = (w: string) => load.get(w) ?? 0;
  const capOf = (w: string) => cap.get(w) ?? 0;
  for (let p = partitions - 1; p >= 0; p--) {
    const w = owners[p];
    if (w === undefined || loadOf(w) <= capOf(w)) continue;
    owners[p] = undefined;
    load.set(w, loadOf(w) - 1);
  }
  for (let p = 0; p < partitions; p++) {
    if (owners[p] !== undefined) continue;
    let best = workers[0] as string;
    for (const w of workers) if (capOf(w) - loadOf(w) > capOf(best) - loadOf(best)) best = w;
    owners[p] = best;
    load.set(best, loadOf(best) + 1);
  }
  return owners as string[];
}

/**
 * `previous` with every partition of a worker not in `live` given to a live worker: each in turn
 * to the one holding the fewest partitions (ties: the first id). Partitions of live owners stay
 * where they are — the least a query of a job between runs needs; the job's next run rebalances
 * with {@link assignPartitions}.
 */
export function replaceLostOwners(previous: readonly string[], live: readonly string[]): string[] {
  if (live.length === 0) throw new Error('replaceLostOwners needs at least one live worker');
  const workers = [...new Set(live)].sort();
  const load = new Map<string, number>(workers.map((w) => [w, 0]));
  for (const w of previous) if (load.has(w)) load.set(w, (load.get(w) ?? 0) + 1);
  return previous.map((w) => {
    if (load.has(w)) return w;
    let best = workers[0] as string;
    for (const c of workers) if ((load.get(c) ?? 0) < (load.get(best) ?? 0)) best = c;
    load.set(best, (load.get(best) ?? 0) + 1);
    return best;
  });
}
