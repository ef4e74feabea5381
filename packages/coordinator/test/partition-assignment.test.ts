import { describe, expect, it } from 'vitest';
import { assignPartitions } from '../src/partition-assignment.js';

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
});
