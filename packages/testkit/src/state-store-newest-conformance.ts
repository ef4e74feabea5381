/**
 * Conformance specifications for scans as of the latest version after every operation that adds
 * or removes state entries (writes, uncommitted layers, discardAbove, pruneBelow, restorePartition,
 * resets, dropJob). An adapter may answer those scans from an index of each key's newest entry
 * (the LMDB store's `latest`, decisions/0036); these cases fail if that index goes wrong.
 */
import { type CanonicalKey, canonicalKey, compareCanonicalKeys, type StateStore } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { collect, rows, versionInfo, writeRows } from './state-store-fixtures.js';
import { seededRandom, VersionedModel } from './state-store-model.js';

const INFINITY = Number.POSITIVE_INFINITY;

const scanOf = (store: StateStore, job: string, partition: number, asOf: number, start?: CanonicalKey) =>
  collect(store.scan(job, partition, start === undefined ? { asOf } : { asOf, start }));

const k = (key: string): CanonicalKey => canonicalKey(key);

/** Writes `changes` of job 'j', partition 0, into `version`'s layer. */
const write = (s: StateStore, version: number, changes: Record<string, unknown>): Promise<void> =>
  writeRows(s, { job: 'j', partition: 0, version }, changes);

/** Registers the specifications; `store` gives the suite's store of the current test. */
export function newestEntryConformance(store: () => StateStore): void {
  describe('scans as of the latest version', () => {
    it('see a key’s previous entry again after its newer uncommitted entry is discarded', async () => {
      const s = store();
      await write(s, 1, { a: 1, b: 1 });
      await s.commitVersion('j', versionInfo(1));
      await write(s, 2, { a: undefined, c: 2 });
      await s.commitVersion('j', versionInfo(2));
      await write(s, 3, { a: 3, b: undefined, c: 3, d: 3 });
      const asOf2 = rows({ b: 1, c: 2 });
      expect(await scanOf(s, 'j', 0, 2)).toEqual(asOf2);
      expect(await scanOf(s, 'j', 0, INFINITY)).toEqual(rows({ a: 3, c: 3, d: 3 }));
      await s.discardAbove('j', 2);
      expect(await scanOf(s, 'j', 0, 2)).toEqual(asOf2);
      expect(await scanOf(s, 'j', 0, INFINITY)).toEqual(asOf2);
      expect(await scanOf(s, 'j', 0, 1)).toEqual(rows({ a: 1, b: 1 }));
    });

    it('take a later write of an older uncommitted version as the older entry it is', async () => {
      const s = store();
      await write(s, 3, { a: 3 });
      await write(s, 2, { a: 2, b: 2 });
      expect(await scanOf(s, 'j', 0, INFINITY)).toEqual(rows({ a: 3, b: 2 }));
      await s.commitVersion('j', versionInfo(2));
      expect(await scanOf(s, 'j', 0, 2)).toEqual(rows({ a: 2, b: 2 }));
    });

    it('forget a key whose tombstone was pruned, and see it again when written anew', async () => {
      const s = store();
      await write(s, 1, { a: 1, b: 1 });
      await s.commitVersion('j', versionInfo(1));
      await write(s, 2, { a: undefined });
      await s.commitVersion('j', versionInfo(2));
      await write(s, 3, { b: 3 });
      await s.commitVersion('j', versionInfo(3));
      // Version 4 is written but not committed while pruning: its entries stay.
      await write(s, 4, { c: 4 });
      expect(await s.pruneBelow('j', 3)).toEqual({ entries: 3, versions: 2 });
      expect(await scanOf(s, 'j', 0, 3)).toEqual(rows({ b: 3 }));
      expect(await scanOf(s, 'j', 0, INFINITY)).toEqual(rows({ b: 3, c: 4 }));
      await s.commitVersion('j', versionInfo(4));
      await write(s, 5, { a: 5 });
      await s.commitVersion('j', versionInfo(5));
      expect(await scanOf(s, 'j', 0, 5)).toEqual(rows({ a: 5, b: 3, c: 4 }));
      expect(await scanOf(s, 'j', 0, 4)).toEqual(rows({ b: 3, c: 4 }));
    });

    it('match a model through random writes, uncommitted layers, resets, discards, prunes and restores', async () => {
      const s = store();
      const random = seededRandom(36);
      const partitions = [0, 1];
      const keys = Array.from({ length: 40 }, (_, i) => k(i % 4 === 0 ? `k${i}` : `k${i % 7}-${i}`));
      const model = new VersionedModel();
      // Versions below these are no longer readable per partition (pruned, or restored at).
      const readableFrom = new Map(partitions.map((p) => [p, 1]));
      let committed = 0;
      let base = 0;
      const check = async (): Promise<void> => {
        for (const p of partitions) {
          for (let v = readableFrom.get(p) ?? 1; v <= committed; v++) {
            expect(await scanOf(s, 'j', p, v)).toEqual(model.sorted(v, p));
          }
          const start = keys[Math.floor(random() * keys.length)] as CanonicalKey;
          expect(await scanOf(s, 'j', p, committed, start)).toEqual(
            model.sorted(committed, p).filter(([key]) => compareCanonicalKeys(key, start) >= 0),
          );
        }
      };
      for (let round = 0; round < 30; round++) {
        const version = committed + 1;
        const reset = random() < 0.1;
        for (const p of partitions) {
          const changes: [CanonicalKey, unknown][] = [];
          for (const key of keys) {
            const roll = random();
            if (roll < (reset ? 0.5 : 0.3)) changes.push([key, { version, n: Math.floor(random() * 100) }]);
            else if (!reset && roll < 0.4) changes.push([key, undefined]);
          }
          model.apply(version, p, committed, changes, reset);
          await s.writePartition({ job: 'j', partition: p, version, changes, batches: [] });
        }
        // As of the latest committed version, across an uncommitted layer.
        for (const p of partitions) expect(await scanOf(s, 'j', p, committed)).toEqual(model.sorted(committed, p));
        if (!reset)
          for (const p of partitions) expect(await scanOf(s, 'j', p, INFINITY)).toEqual(model.sorted(version, p));
        if (committed > 1 && random() < 0.2) {
          const oldestKept = Math.max(readableFrom.get(0) ?? 1, committed - Math.floor(random() * 4));
          await s.pruneBelow('j', oldestKept);
          for (const p of partitions) readableFrom.set(p, Math.max(readableFrom.get(p) ?? 1, oldestKept));
        }
        if (random() < 0.2) {
          await s.discardAbove('j', committed);
          model.discardAbove(committed);
        } else {
          if (reset) base = version;
          await s.commitVersion('j', versionInfo(version, base));
          committed = version;
        }
        if (committed > 0 && random() < 0.15) {
          const p = partitions[Math.floor(random() * partitions.length)] as number;
          const changes = model.sorted(committed, p);
          await s.restorePartition({
            job: 'j',
            partition: p,
            version: committed,
            changes,
            batches: [],
            keyCount: changes.length,
          });
          readableFrom.set(p, committed);
        }
        await check();
      }
      await s.dropJob('j');
      for (const p of partitions) expect(await scanOf(s, 'j', p, INFINITY)).toEqual([]);
      await write(s, 1, { x: 1 });
      await s.commitVersion('j', versionInfo(1));
      expect(await scanOf(s, 'j', 0, 1)).toEqual([[k('x'), 1]]);
    });
  });
}
