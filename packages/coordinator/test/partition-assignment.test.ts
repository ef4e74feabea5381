import { describe, expect, it } from 'vitest';
import { assignPartitions, replaceLostOwners } from '../src/partition-assignment.js';

const counts = (owners: string[]) => {
  const m = new Map<string, number>();
  for (const o of owners) m.set(o, (m.get(o) ?? 0) + 1);
  return m;
};

describe('assignPartitions', () => {
  it('spreads a first assignment evenly', () => {
    const owners = assignPartitions(undefined, ['b', 'a', 'c'], 16);
    expect([...counts(owners).values()].sort()).toEqual([5, 5, 6]);
  });

  it("gives a lost worker's partitions to the others and moves nothing else", () => {
    const before = assignPartitions(undefined, ['a', 'b', 'c'], 16);
    const after = assignPartitions(before, ['a', 'c'], 16);
    expect([...counts(after).values()].sort()).toEqual([8, 8]);
    before.forEach((w, p) => {
      if (w !== 'b') expect(after[p]).toBe(w);
    });
    expect(after).not.toContain('b');
  });

  it('gives a worker that joins its share at the next assignment, moving as little as it can', () => {
    const before = assignPartitions(undefined, ['a', 'b'], 16);
    const after = assignPartitions(before, ['a', 'b', 'c'], 16);
    expect([...counts(after).values()].sort()).toEqual([5, 5, 6]);
    const moved = after.filter((w, p) => w !== before[p]).length;
    expect(moved).toBe(5);
    expect(after.filter((w) => w === 'c').length).toBe(5);
  });

  it('keeps an assignment that is already balanced', () => {
    const before = assignPartitions(undefined, ['x', 'y', 'z'], 7);
    expect(assignPartitions(before, ['z', 'y', 'x'], 7)).toEqual(before);
  });

  it('gives a worker that comes back its share again, and takes only the surplus from the others', () => {
    const before = assignPartitions(undefined, ['a', 'b', 'c'], 16);
    const lost = assignPartitions(before, ['a', 'c'], 16);
    const back = assignPartitions(lost, ['a', 'b', 'c'], 16);
    expect([...counts(back).values()].sort()).toEqual([5, 5, 6]);
    // b's share (5) is the fewest moves balance allows; a and c keep every other partition.
    expect(back.filter((w, p) => w !== lost[p]).length).toBe(5);
    back.forEach((w, p) => {
      if (w !== 'b') expect(w).toBe(lost[p]);
    });
  });

  it('is balanced and moves the fewest partitions possible, over joins, losses and returns', () => {
    // Checked against every assignment there is, for small clusters, along a random history.
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pool = ['a', 'b', 'c', 'd'];
    for (let trial = 0; trial < 30; trial++) {
      const partitions = 1 + Math.floor(random() * 6);
      let owners: string[] | undefined;
      for (let step = 0; step < 6; step++) {
        const live = pool.filter(() => random() < 0.6);
        if (live.length === 0) continue;
        const next = assignPartitions(owners, live, partitions);
        const load = live.map((w) => next.filter((o) => o === w).length);
        expect(next.every((o) => live.includes(o))).toBe(true);
        expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(1);
        const moved = (a: readonly string[]) => a.filter((w, p) => owners !== undefined && owners[p] !== w).length;
        expect(moved(next)).toBe(Math.min(...balancedAssignments(live, partitions).map(moved)));
        owners = next;
      }
    }
  });
});

/** Every assignment of `partitions` to `workers` whose counts differ by at most one. */
function balancedAssignments(workers: readonly string[], partitions: number): string[][] {
  const out: string[][] = [];
  const walk = (prefix: string[]) => {
    if (prefix.length === partitions) {
      const load = workers.map((w) => prefix.filter((o) => o === w).length);
      if (Math.max(...load) - Math.min(...load) <= 1) out.push(prefix);
      return;
    }
    for (const w of workers) walk([...prefix, w]);
  };
  walk([]);
  return out;
}

describe('replaceLostOwners', () => {
  it("gives a lost worker's partitions to the live workers holding the fewest, and moves nothing else", () => {
    const previous = ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b'];
    const next = replaceLostOwners(previous, ['a', 'c']);
    // a held 3 and c 2: b's three partitions go c, then a or c by load (ties: the first id).
    expect(next).toEqual(['a', 'c', 'c', 'a', 'a', 'c', 'a', 'c']);
    previous.forEach((w, p) => {
      if (w !== 'b') expect(next[p]).toBe(w);
    });
  });

  it('gives every partition to a worker that joined when all the owners are lost', () => {
    expect(replaceLostOwners(['a', 'b', 'a'], ['z'])).toEqual(['z', 'z', 'z']);
  });

  it('changes nothing while every owner is alive, whoever else joined', () => {
    expect(replaceLostOwners(['a', 'b', 'a'], ['a', 'b', 'c'])).toEqual(['a', 'b', 'a']);
  });

  it('refuses to assign to nobody', () => {
    expect(() => replaceLostOwners(['a'], [])).toThrow(/at least one live worker/);
  });
});
