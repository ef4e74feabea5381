import { type MapTaskMessage, ownersKeyOf, PROTOCOL_VERSION } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { MAX_JOBS_KEPT, TaskOwners } from '../src/task-owners.js';

const OWNERS = ['merge-0', 'merge-1'];

function task(jobId: string, run: number, owners?: readonly string[], key = ownersKeyOf(OWNERS)): MapTaskMessage {
  return {
    type: 'map-task',
    v: PROTOCOL_VERSION,
    jobId,
    run,
    taskId: 't0',
    attempt: 1,
    job: { name: 'wc', bundleHash: 'h' },
    split: { path: '/x', displayPath: 'x', format: 'lines', gzip: false, startOffset: 0, firstLine: 1, batches: [] },
    partitions: 2,
    salt: 0,
    ownersKey: key,
    maxFrameBytes: 1024,
    onError: 'fail',
    ...(owners !== undefined ? { owners } : {}),
  };
}

describe('TaskOwners', () => {
  it('keeps the owners a task brought for the tasks of its run and key that come without', () => {
    const kept = new TaskOwners();
    expect(kept.resolve(task('j', 1))).toBeUndefined();
    expect(kept.resolve(task('j', 1, OWNERS))?.owners).toEqual(OWNERS);
    expect(kept.resolve(task('j', 1))?.owners).toEqual(OWNERS);
    // Another run, another key, another job: not these owners.
    expect(kept.resolve(task('j', 2))).toBeUndefined();
    expect(kept.resolve(task('j', 1, undefined, ownersKeyOf(['merge-1', 'merge-0'])))).toBeUndefined();
    expect(kept.resolve(task('k', 1))).toBeUndefined();
  });

  it("replaces a run's owners by a newer run's, never by an older run's", () => {
    const kept = new TaskOwners();
    const moved = ['merge-1', 'merge-1'];
    kept.resolve(task('j', 2, moved, ownersKeyOf(moved)));
    // A late task of run 1 runs with the owners it carries, and leaves run 2's kept.
    expect(kept.resolve(task('j', 1, OWNERS))?.owners).toEqual(OWNERS);
    expect(kept.resolve(task('j', 2, undefined, ownersKeyOf(moved)))?.owners).toEqual(moved);
    expect(kept.resolve(task('j', 1))).toBeUndefined();
  });

  it(`keeps the owners of at most ${MAX_JOBS_KEPT} jobs, forgetting the oldest`, () => {
    const kept = new TaskOwners();
    for (let i = 0; i <= MAX_JOBS_KEPT; i++) kept.resolve(task(`j${i}`, 1, OWNERS));
    expect(kept.resolve(task('j0', 1))).toBeUndefined();
    expect(kept.resolve(task('j1', 1))?.owners).toEqual(OWNERS);
    expect(kept.resolve(task(`j${MAX_JOBS_KEPT}`, 1))?.owners).toEqual(OWNERS);
  });
});

describe('ownersKeyOf', () => {
  it('tells apart lists that differ in order, in where ids split, or in length', () => {
    const keys = [['a', 'b'], ['b', 'a'], ['ab'], ['a', 'b', 'a'], ['ab', 'c'], ['a', 'bc'], []].map(ownersKeyOf);
    expect(new Set(keys).size).toBe(keys.length);
    expect(ownersKeyOf(['a', 'b'])).toBe(ownersKeyOf(['a', 'b']));
  });
});
