import { MemoryBus } from '@mrm/runtime';
import { describe, expect, it } from 'vitest';
import { PartitionLeases } from '../src/partition-leases.js';

/** Token and tenure of every partition in `worker`'s copy plans of a run. */
function plans(run: Awaited<ReturnType<PartitionLeases['prepare']>>, owners: readonly string[]) {
  return [...new Set(owners)]
    .flatMap((w) => run.plansFor(w))
    .sort((a, b) => a.partition - b.partition)
    .map(({ token, tenure }) => ({ token, tenure: tenure as number }));
}

describe('PartitionLeases', () => {
  it('gives every run new tokens, and keeps a tenure while its owner stays', async () => {
    const leases = await PartitionLeases.open(MemoryBus.create().connect());
    const first = plans(await leases.prepare('job', ['a', 'b'], 0), ['a', 'b']);
    // The run that gives a partition its owner starts the tenure.
    for (const p of first) expect(p.tenure).toBe(p.token);

    const second = plans(await leases.prepare('job', ['a', 'b'], 1), ['a', 'b']);
    second.forEach((p, i) => {
      expect(p.token).toBeGreaterThan(first[i]?.token ?? Infinity);
      expect(p.tenure).toBe(first[i]?.tenure);
    });

    // Partition 0 moves to b and back: each move starts a new tenure; partition 1 keeps its own.
    const moved = plans(await leases.prepare('job', ['b', 'b'], 2), ['b']);
    expect(moved[0]?.tenure).toBe(moved[0]?.token);
    expect(moved[1]?.tenure).toBe(first[1]?.tenure);
    const back = plans(await leases.prepare('job', ['a', 'b'], 3), ['a', 'b']);
    expect(back[0]?.tenure).toBe(back[0]?.token);
    expect(back[0]?.tenure).not.toBe(first[0]?.tenure);
    expect(back[1]?.tenure).toBe(first[1]?.tenure);

    // --reset forgets the leases: the same owners start new tenures.
    await leases.forget('job');
    const reset = plans(await leases.prepare('job', ['a', 'b'], 0), ['a', 'b']);
    reset.forEach((p, i) => {
      expect(p.tenure).toBe(p.token);
      expect(p.tenure).not.toBe(back[i]?.tenure);
    });
  });
});
