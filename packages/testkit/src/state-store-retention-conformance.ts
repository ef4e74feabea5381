/**
 * Conformance specifications of the parts of {@link StateStore} that keep state affordable and
 * accountable: partition digests, pruning old versions (`pruneBelow`) and dead letters. Registered
 * by {@link stateStoreConformance} for every adapter.
 */
import { type CanonicalKey, canonicalKey, type DeadLetter, ErrorCode, type StateStore } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { collect, versionInfo } from './state-store-fixtures.js';
import { seededRandom } from './state-store-model.js';

/** Registers the specifications; `store()` is the store of the running test. */
export function retentionConformance(store: () => StateStore): void {
  describe('partition digests', () => {
    it('reads back the digest of the newest write at or below a version, and none for a bare key count', async () => {
      const s = store();
      const d1 = { keys: 1, bytes: 10, hash: `${'0'.repeat(31)}1` };
      const d3 = { keys: 2, bytes: 25, hash: 'f'.repeat(32) };
      await s.writePartition({ job: 'j', partition: 0, version: 1, changes: [['"a"', 1]], batches: [], digest: d1 });
      await s.writePartition({ job: 'j', partition: 0, version: 2, changes: [], batches: [] });
      await s.writePartition({ job: 'j', partition: 0, version: 3, changes: [['"b"', 2]], batches: [], digest: d3 });
      await s.writePartition({ job: 'j', partition: 1, version: 3, changes: [['"c"', 2]], batches: [], keyCount: 1 });
      expect(await s.partitionDigest('j', 0, 1)).toEqual(d1);
      expect(await s.partitionDigest('j', 0, 2)).toEqual(d1);
      expect(await s.partitionDigest('j', 0, Number.POSITIVE_INFINITY)).toEqual(d3);
      expect(await s.keyCount('j', 0, 3)).toBe(2);
      expect(await s.partitionDigest('j', 1, 3)).toBeUndefined();
      expect(await s.keyCount('j', 1, 3)).toBe(1);
    });
  });

  describe('pruneBelow', () => {
    it('keeps every version from the oldest kept exactly readable and removes what none of them reads', async () => {
      const s = store();
      const random = seededRandom(7);
      const keys = Array.from({ length: 60 }, (_, i) => canonicalKey(`k${i}`));
      const expected = new Map<number, Map<number, [CanonicalKey, unknown][]>>();
      const VERSIONS = 12;
      for (let v = 1; v <= VERSIONS; v++) {
        for (const partition of [0, 1]) {
          const changes: [CanonicalKey, unknown][] = [];
          for (const k of keys) {
            const r = random();
            if (r < 0.3) changes.push([k, { v, n: Math.floor(random() * 1000) }]);
            else if (r < 0.38) changes.push([k, undefined]);
          }
          await s.writePartition({ job: 'j', partition, version: v, changes, batches: [`b${v}`] });
        }
        await s.commitVersion('j', versionInfo(v));
      }
      for (let v = 1; v <= VERSIONS; v++) {
        const perPartition = new Map<number, [CanonicalKey, unknown][]>();
        for (const p of [0, 1])
          perPartition.set(p, (await collect(s.scan('j', p, { asOf: v }))) as [CanonicalKey, unknown][]);
        expected.set(v, perPartition);
      }
      const first = await s.pruneBelow('j', 9);
      expect(first.versions).toBe(8);
      expect(first.entries).toBeGreaterThan(0);
      expect((await s.listVersions('j')).map((i) => i.version)).toEqual([9, 10, 11, 12]);
      for (let v = 9; v <= VERSIONS; v++) {
        for (const p of [0, 1]) {
          expect(await collect(s.scan('j', p, { asOf: v }))).toEqual(expected.get(v)?.get(p));
          const values = await s.getMany('j', p, keys, v);
          const byKey = new Map(expected.get(v)?.get(p));
          expect(values).toEqual(keys.map((k) => byKey.get(k)));
        }
      }
      // Batch records of pruned versions go (decisions/0049); those of kept versions stay.
      expect(await s.mergedBatches('j', 0)).toEqual(new Set(['b9', 'b10', 'b11', 'b12']));
      // Pruning again at the same point finds nothing more.
      expect(await s.pruneBelow('j', 9)).toEqual({ entries: 0, versions: 0 });
    });

    it('drops entries below the base of the oldest kept version (a plain job re-run)', async () => {
      const s = store();
      for (let v = 1; v <= 3; v++) {
        await s.writePartition({ job: 'j', partition: 0, version: v, changes: [[`"run${v}"`, v]], batches: [] });
        await s.commitVersion('j', versionInfo(v, v));
      }
      const result = await s.pruneBelow('j', 3);
      expect(result).toEqual({ entries: 2, versions: 2 });
      expect(await collect(s.scan('j', 0, { asOf: 3 }))).toEqual([['"run3"', 3]]);
    });

    it('refuses a version that is not committed', async () => {
      const s = store();
      await expect(s.pruneBelow('j', 4)).rejects.toMatchObject({ code: ErrorCode.NoSuchVersion });
    });
  });

  describe('dead letters', () => {
    const letter = (batchId: string, line: number): DeadLetter => ({
      stage: 'map',
      batchId,
      source: 'in.log',
      line,
      message: `bad line ${line}`,
      atMs: 1_700_000_000_000,
    });

    it('are written with a partition write, listed up to a version, and forgotten with a discarded version', async () => {
      const s = store();
      await s.writePartition({
        job: 'j',
        partition: 0,
        version: 1,
        changes: [],
        batches: ['b1'],
        deadLetters: [letter('b1', 3), letter('b1', 7)],
      });
      await s.commitVersion('j', versionInfo(1));
      await s.writePartition({
        job: 'j',
        partition: 2,
        version: 2,
        changes: [],
        batches: ['b2'],
        deadLetters: [{ stage: 'reduce', batchId: 'b2', key: '"x"', message: 'reduce threw: no', atMs: 1 }],
      });
      expect((await collect(s.deadLetters('j', 1))).map((d) => [d.version, d.partition, d.line])).toEqual([
        [1, 0, 3],
        [1, 0, 7],
      ]);
      const all = await collect(s.deadLetters('j', Number.POSITIVE_INFINITY));
      expect(all).toHaveLength(3);
      expect(all[2]).toEqual({
        stage: 'reduce',
        batchId: 'b2',
        key: '"x"',
        message: 'reduce threw: no',
        atMs: 1,
        version: 2,
        partition: 2,
      });
      await s.discardAbove('j', 1);
      expect(await collect(s.deadLetters('j', Number.POSITIVE_INFINITY))).toHaveLength(2);
      await s.pruneBelow('j', 1);
      expect(await collect(s.deadLetters('j', 1))).toHaveLength(2);
    });

    it('are replaced, with the digest, by those of a restored partition, each at its own version', async () => {
      const s = store();
      for (const partition of [0, 1]) {
        await s.writePartition({
          job: 'j',
          partition,
          version: 1,
          changes: [],
          batches: ['b1'],
          deadLetters: [letter('b1', 10 + partition)],
        });
      }
      await s.commitVersion('j', versionInfo(1));
      await s.writePartition({ job: 'j', partition: 1, version: 2, changes: [], batches: ['b2'] });
      await s.commitVersion('j', versionInfo(2));
      const digest = { keys: 1, bytes: 9, hash: `${'0'.repeat(31)}7` };
      await s.restorePartition({
        job: 'j',
        partition: 0,
        version: 2,
        changes: [['"k"', 1]],
        batches: ['b1', 'b2'],
        digest,
        deadLetters: [
          { ...letter('b1', 3), version: 1, partition: 0 },
          { ...letter('b2', 5), version: 2, partition: 0 },
        ],
      });
      const all = await collect(s.deadLetters('j', 2));
      expect(all.map((d) => [d.version, d.partition, d.line])).toEqual([
        [1, 0, 3],
        [1, 1, 11],
        [2, 0, 5],
      ]);
      expect(all[0]).toEqual({ ...letter('b1', 3), version: 1, partition: 0 });
      expect(await s.partitionDigest('j', 0, 2)).toEqual(digest);
      await expect(
        s.restorePartition({
          job: 'j',
          partition: 0,
          version: 2,
          changes: [],
          batches: [],
          deadLetters: [{ ...letter('b3', 1), version: 3, partition: 0 }],
        }),
      ).rejects.toMatchObject({ code: 'E_STATE' });
    });
  });
}
