/**
 * A checkpoint write that settles while the next batch merges (between two of its time slices)
 * must not drop from memory the stored values that batch has read and not merged yet: the merge
 * would take such a key for absent and start it again from its increment alone. Seen as
 * `checkpoint-cost`'s wrong result with the withdrawn `VersionWriteGate` (decision 0056): its
 * held writes settled in the middle of later merges.
 */
import { type CanonicalKey, canonicalKey, type PartitionWrite } from '@mrm/core';
import { MemoryStateStore } from '@mrm/runtime';
import { describe, expect, it, vi } from 'vitest';
import { PartitionMerger } from '../src/partition-merger.js';
import { ValueBuffer } from '../src/value-buffer.js';
import { paddedCountJob } from './padded-count-job.js';

// Every key merged gives the event loop a turn, so whatever settles during a merge settles
// between two keys, as it may with the real slices (a slice's length is a matter of time).
vi.mock('../src/time-slice.js', async (original) => ({
  ...(await original<typeof import('../src/time-slice.js')>()),
  sliceDue: () => true,
}));

const JOB = 'settle-during-merge';
/** Room for about 30 of the job's values; one batch reads 40. */
const BUDGET = 32 * 1024;
const KEYS = 200;

/** Called on every merge (the test releases a held write from it). */
let onMerge = (): void => {};
const job = paddedCountJob(JOB, () => onMerge());

/** A memory store whose partition writes, once `hold` is on, land only when released. */
class HeldWriteStore extends MemoryStateStore {
  hold = false;
  private readonly held: Array<() => void> = [];

  override writePartition(write: PartitionWrite): Promise<void> {
    if (!this.hold) return super.writePartition(write);
    return new Promise<void>((resolve) => this.held.push(resolve)).then(() => super.writePartition(write));
  }

  /** Lets every held write land (they settle in the next microtasks). */
  release(): void {
    for (const go of this.held.splice(0)) go();
  }

  get holding(): number {
    return this.held.length;
  }
}

const keysFrom = (from: number, n: number): CanonicalKey[] =>
  Array.from({ length: n }, (_, i) => canonicalKey(`k${from + i}`));

function bufferOf(keys: readonly CanonicalKey[]): ValueBuffer {
  const buffer = new ValueBuffer(job);
  for (const k of keys) buffer.add(k, 1);
  return buffer;
}

async function commit(store: MemoryStateStore, version: number): Promise<void> {
  await store.commitVersion(JOB, { version, createdAtMs: 0, base: 0, batches: 0, records: 0, keys: 0, label: 'test' });
}

describe('PartitionMerger: a checkpoint write settling in the middle of a merge', () => {
  it("keeps the batch's stored values until they are merged: every key counts all its batches", async () => {
    const store = new HeldWriteStore();
    // Version 1: every key once (a run before this one; the partition is opened again after it).
    const first = await PartitionMerger.open({ store, jobName: JOB, job, partition: 0 }, { maxStateBytes: BUDGET });
    for (let from = 0; from < KEYS; from += 40) {
      await first.mergeBatch(`v1-${from}`, bufferOf(keysFrom(from, 40)));
      await first.relieve(1);
    }
    await first.checkpoint(1);
    await commit(store, 1);

    // The next run: the state is in the store only. Version 2 takes batch a, version 3 batch b.
    const merger = await PartitionMerger.open(
      { store, jobName: JOB, job, partition: 0, copied: true },
      { maxStateBytes: BUDGET },
    );
    const a = keysFrom(0, 40);
    const b = keysFrom(100, 40);
    await merger.mergeBatch('v2-a', bufferOf(a));
    await merger.relieve(2);
    store.hold = true;
    const checkpoint2 = await merger.startCheckpoint(2);
    store.hold = false;
    expect(store.holding).toBe(1);
    // Version 2's write lands while batch b merges, after b's stored values were read.
    let merges = 0;
    onMerge = () => {
      if (++merges === 5) store.release();
    };
    await merger.mergeBatch('v3-b', bufferOf(b));
    onMerge = () => {};
    expect(merges).toBe(b.length);
    await checkpoint2.written;
    await merger.relieve(3);
    await merger.checkpoint(3);
    await commit(store, 2);
    await commit(store, 3);

    const counts = new Map<CanonicalKey, number>();
    for await (const [k, v] of store.scan(JOB, 0, { asOf: 3 })) counts.set(k, (v as { n: number }).n);
    const changed = new Set([...a, ...b]);
    const wrong = keysFrom(0, KEYS).filter((k) => counts.get(k) !== (changed.has(k) ? 2 : 1));
    expect(wrong.map((k) => `${k}=${counts.get(k)}`)).toEqual([]);
    expect(counts.size).toBe(KEYS);
  });
});
