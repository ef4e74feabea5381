/**
 * The StateStore conformance suite: one set of specifications every {@link StateStore} adapter
 * must pass (bullmq runs one suite over every backend). Call it from a test file:
 *
 * ```ts
 * stateStoreConformance('MemoryStateStore', async () => ({ store: new MemoryStateStore(), cleanup: async () => {} }));
 * ```
 */
import {
  type CanonicalKey,
  canonicalKey,
  compareCanonicalKeys,
  decode,
  ErrorCode,
  encode,
  type Key,
  type StateStore,
  type VersionInfo,
} from '@mrm/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collect, versionInfo } from './state-store-fixtures.js';
import { seededRandom, VersionedModel } from './state-store-model.js';
import { newestEntryConformance } from './state-store-newest-conformance.js';
import { retentionConformance } from './state-store-retention-conformance.js';

/** A fresh store for one test; `cleanup` runs after the suite has closed the store. */
export interface StateStoreUnderTest {
  readonly store: StateStore;
  cleanup(): Promise<void>;
}

/** Registers the conformance specifications of {@link StateStore} for one adapter. */
export function stateStoreConformance(name: string, create: () => Promise<StateStoreUnderTest>): void {
  describe(`StateStore conformance: ${name}`, () => {
    let subject: StateStoreUnderTest;
    let store: StateStore;

    beforeEach(async () => {
      subject = await create();
      store = subject.store;
    });

    afterEach(async () => {
      if (store.state === 'open') await store.close();
      await subject.cleanup();
    });

    /** Writes a partition at a version; `changes` maps keys (given as keys, not JSON) to values. */
    const write = (
      job: string,
      partition: number,
      version: number,
      changes: readonly (readonly [Key, unknown])[],
      batches: readonly string[] = [],
      keyCount?: number,
    ): Promise<void> =>
      store.writePartition({
        job,
        partition,
        version,
        changes: changes.map(([key, value]) => [canonicalKey(key), value] as const),
        batches,
        ...(keyCount === undefined ? {} : { keyCount }),
      });

    const commit = (job: string, version: number, base = 0): Promise<void> =>
      store.commitVersion(job, versionInfo(version, base));

    const scan = (job: string, partition: number, asOf: number, start?: CanonicalKey) =>
      collect(store.scan(job, partition, start === undefined ? { asOf } : { asOf, start }));

    retentionConformance(() => store);
    newestEntryConformance(() => store);

    describe('versions', () => {
      it('lists committed versions oldest first and reports the newest as latest', async () => {
        for (const version of [1, 2, 3]) {
          await write('wc', 0, version, [['a', version]]);
          await commit('wc', version);
        }
        expect(await store.listVersions('wc')).toEqual([versionInfo(1), versionInfo(2), versionInfo(3)]);
        expect(await store.latestVersion('wc')).toEqual(versionInfo(3));
      });

      it('keeps every field of a version record, the optional digest included', async () => {
        const info: VersionInfo = { ...versionInfo(1, 0), digest: 'sha256:abc', label: 'run of 3 inputs' };
        await store.commitVersion('wc', info);
        expect(await store.listVersions('wc')).toEqual([info]);
      });

      it('reports no versions and no latest version for an unknown job', async () => {
        expect(await store.listVersions('nope')).toEqual([]);
        expect(await store.latestVersion('nope')).toBeUndefined();
      });

      it('rejects committing a version that is not above the latest with E_STATE', async () => {
        await commit('wc', 2);
        await expectCode(store.commitVersion('wc', { ...versionInfo(2), label: 'another run' }), ErrorCode.State);
        await expectCode(commit('wc', 1), ErrorCode.State);
        await commit('wc', 3);
        expect((await store.listVersions('wc')).map((info) => info.version)).toEqual([2, 3]);
      });

      it('skips a version committed already with exactly the same info (a repeated commit), alone or in a group', async () => {
        await commit('wc', 1);
        await commit('wc', 2);
        await commit('wc', 2);
        await store.commitVersions('wc', [versionInfo(1), versionInfo(2), versionInfo(3)]);
        expect(await store.listVersions('wc')).toEqual([versionInfo(1), versionInfo(2), versionInfo(3)]);
        // The same number with other content is another version: refused, and the group with it.
        await expectCode(
          store.commitVersions('wc', [{ ...versionInfo(3), batches: 9 }, versionInfo(4)]),
          ErrorCode.State,
        );
        expect((await store.listVersions('wc')).map((info) => info.version)).toEqual([1, 2, 3]);
      });

      it('commits a group of versions in one call, each listed with its own record and read as of itself', async () => {
        for (const version of [1, 2, 3]) await write('wc', 0, version, [['a', version]]);
        await store.commitVersions('wc', [versionInfo(1), versionInfo(2), versionInfo(3)]);
        expect(await store.listVersions('wc')).toEqual([versionInfo(1), versionInfo(2), versionInfo(3)]);
        for (const version of [1, 2, 3]) expect(await store.get('wc', 0, canonicalKey('a'), version)).toBe(version);
      });

      it('commits a group all or none: a version not above the one before rejects the whole group with E_STATE', async () => {
        await commit('wc', 1);
        await expectCode(store.commitVersions('wc', [versionInfo(2), versionInfo(3), versionInfo(3)]), ErrorCode.State);
        await expectCode(store.commitVersions('wc', [versionInfo(2), versionInfo(1)]), ErrorCode.State);
        expect((await store.listVersions('wc')).map((info) => info.version)).toEqual([1]);
        await store.commitVersions('wc', [versionInfo(2), versionInfo(3)]);
        expect((await store.listVersions('wc')).map((info) => info.version)).toEqual([1, 2, 3]);
      });

      it('applies writes in the order they were called: a commit called before earlier partition writes settle lands after them', async () => {
        // What a merge worker relies on when it commits without awaiting its checkpoint writes.
        const writes = [0, 1, 2, 3].map((partition) =>
          write('wc', partition, 1, [[`k${partition}`, partition]], ['b1']),
        );
        await store.commitVersions('wc', [versionInfo(1)]);
        for (const partition of [0, 1, 2, 3]) {
          expect(await store.get('wc', partition, canonicalKey(`k${partition}`), 1)).toBe(partition);
        }
        await Promise.all(writes);
        // A write called after the commit is at a committed version: refused, whenever it runs.
        await expectCode(write('wc', 0, 1, [['k0', 99]]), ErrorCode.State);
      });

      it('rejects writing a partition at an already committed version with E_STATE', async () => {
        await write('wc', 0, 1, [['a', 1]]);
        await commit('wc', 1);
        await expectCode(write('wc', 0, 1, [['a', 99]]), ErrorCode.State);
        expect(await store.get('wc', 0, canonicalKey('a'), 1)).toBe(1);
      });

      it('keeps jobs apart, also when one job name is a prefix of another', async () => {
        await write('job', 0, 1, [['k', 'short']], ['b-job']);
        await commit('job', 1);
        await write('job2', 0, 1, [['k', 'long']], ['b-job2']);
        await write('job2', 0, 2, [['k2', 'long2']]);
        await commit('job2', 1);
        await commit('job2', 2);
        expect((await store.listVersions('job')).map((info) => info.version)).toEqual([1]);
        expect(await scan('job', 0, Number.POSITIVE_INFINITY)).toEqual([[canonicalKey('k'), 'short']]);
        expect(await store.mergedBatches('job', 0)).toEqual(new Set(['b-job']));
        await store.dropJob('job');
        expect(await scan('job2', 0, 2)).toEqual([
          [canonicalKey('k'), 'long'],
          [canonicalKey('k2'), 'long2'],
        ]);
        expect(await store.listJobs()).toEqual(['job2']);
      });
    });

    describe('reads', () => {
      it('reads each key as of an old version after later versions changed it', async () => {
        await write('wc', 0, 1, [
          ['a', 1],
          ['b', 1],
        ]);
        await commit('wc', 1);
        await write('wc', 0, 2, [
          ['a', 2],
          ['c', 2],
        ]);
        await commit('wc', 2);
        await write('wc', 0, 3, [['b', 3]]);
        await commit('wc', 3);
        const [a, b, c] = ['a', 'b', 'c'].map((key) => canonicalKey(key)) as [string, string, string];
        expect(await store.get('wc', 0, a, 1)).toBe(1);
        expect(await store.getMany('wc', 0, [c, b, a], 1)).toEqual([undefined, 1, 1]);
        expect(await scan('wc', 0, 1)).toEqual([
          [a, 1],
          [b, 1],
        ]);
        expect(await scan('wc', 0, 2)).toEqual([
          [a, 2],
          [b, 1],
          [c, 2],
        ]);
        expect(await store.getMany('wc', 0, [a, b, c, a], 3)).toEqual([2, 3, 2, 2]);
      });

      it('hides a deleted key from the deleting version on and keeps it visible before', async () => {
        await write('wc', 0, 1, [
          ['gone', 'here'],
          ['kept', 'here'],
        ]);
        await commit('wc', 1);
        await write('wc', 0, 2, [['gone', undefined]]);
        await commit('wc', 2);
        const gone = canonicalKey('gone');
        expect(await store.get('wc', 0, gone, 1)).toBe('here');
        expect(await store.get('wc', 0, gone, 2)).toBeUndefined();
        expect(await store.getMany('wc', 0, [gone], 2)).toEqual([undefined]);
        expect(await scan('wc', 0, 2)).toEqual([[canonicalKey('kept'), 'here']]);
        await write('wc', 0, 3, [['gone', 'back']]);
        await commit('wc', 3);
        expect(await store.get('wc', 0, gone, 3)).toBe('back');
      });

      it('hides entries written before the base of the version read as of', async () => {
        await write('wc', 0, 1, [
          ['old', 1],
          ['both', 1],
        ]);
        await commit('wc', 1);
        await write('wc', 0, 2, [['both', 2]]);
        await commit('wc', 2, 2);
        await write('wc', 0, 3, [['new', 3]]);
        await commit('wc', 3, 2);
        expect(await store.get('wc', 0, canonicalKey('old'), 1)).toBe(1);
        expect(await store.get('wc', 0, canonicalKey('old'), 2)).toBeUndefined();
        expect(await scan('wc', 0, 2)).toEqual([[canonicalKey('both'), 2]]);
        expect(await scan('wc', 0, 3)).toEqual([
          [canonicalKey('both'), 2],
          [canonicalKey('new'), 3],
        ]);
        expect(await scan('wc', 0, 1)).toEqual([
          [canonicalKey('both'), 1],
          [canonicalKey('old'), 1],
        ]);
      });

      it('scans keys with many versions (and deletions) as of every version, as a model says', async () => {
        // Keys that prefix one another, each changed in some versions and deleted in others: a
        // scan that jumps over a key's older entries must land on the next key, never inside.
        const keys = ['a', 'ab', 'abc', 'b', 'ba', 'c'];
        const model: Array<Map<string, number>> = [new Map()];
        for (let version = 1; version <= 12; version++) {
          const next = new Map(model[version - 1]);
          const changes: Array<[string, number | undefined]> = [];
          keys.forEach((key, i) => {
            if ((version * (i + 3)) % 4 === 0) return;
            const value = (version * 7 + i) % 5 === 0 ? undefined : version * 10 + i;
            changes.push([key, value]);
            if (value === undefined) next.delete(key);
            else next.set(key, value);
          });
          await write('wc', 0, version, changes);
          await commit('wc', version);
          model.push(next);
        }
        for (let version = 1; version <= 12; version++) {
          const expected = [...(model[version] as Map<string, number>)]
            .sort(([x], [y]) => compareCanonicalKeys(canonicalKey(x), canonicalKey(y)))
            .map(([key, value]) => [canonicalKey(key), value]);
          expect(await scan('wc', 0, version)).toEqual(expected);
          expect(await scan('wc', 0, version, canonicalKey('ab'))).toEqual(
            expected.filter(([key]) => compareCanonicalKeys(key as string, canonicalKey('ab')) >= 0),
          );
        }
      });

      it('reads uncommitted writes as of Infinity, and not as of the latest committed version', async () => {
        await write('wc', 0, 1, [['a', 1]]);
        await commit('wc', 1);
        await write('wc', 0, 2, [
          ['a', 2],
          ['b', 2],
        ]);
        const a = canonicalKey('a');
        expect(await store.get('wc', 0, a, Number.POSITIVE_INFINITY)).toBe(2);
        expect(await store.get('wc', 0, a, 1)).toBe(1);
        expect(await scan('wc', 0, Number.POSITIVE_INFINITY)).toEqual([
          [a, 2],
          [canonicalKey('b'), 2],
        ]);
        expect(await store.latestVersion('wc')).toEqual(versionInfo(1));
      });

      it('scans in canonical key order: numbers, arrays, non-ASCII and keys that prefix others', async () => {
        const keys: Key[] = ['a', 'ab', 'b', '', 'Z', 'é', '日本', '😀', 1, 10, 12, 1.5, -1, 0, ['a', 1], ['a'], []];
        await write(
          'wc',
          0,
          1,
          keys.map((key, i) => [key, i]),
        );
        const expected = keys
          .map((key, i) => [canonicalKey(key), i] as const)
          .sort(([x], [y]) => compareCanonicalKeys(x, y));
        expect(await scan('wc', 0, 1)).toEqual(expected);
        const from = canonicalKey('b');
        expect(await scan('wc', 0, 1, from)).toEqual(expected.filter(([key]) => compareCanonicalKeys(key, from) >= 0));
        expect(await store.getMany('wc', 0, [canonicalKey(1), canonicalKey(10), canonicalKey('a')], 1)).toEqual([
          keys.indexOf(1),
          keys.indexOf(10),
          keys.indexOf('a'),
        ]);
      });

      it('keeps partitions apart', async () => {
        await write('wc', 1, 1, [['k', 'one']]);
        await write('wc', 2, 1, [['k', 'two']]);
        await write('wc', 10, 1, [['k', 'ten']]);
        expect(await store.get('wc', 1, canonicalKey('k'), 1)).toBe('one');
        expect(await scan('wc', 2, 1)).toEqual([[canonicalKey('k'), 'two']]);
        expect(await scan('wc', 3, 1)).toEqual([]);
        expect(await store.get('wc', 0, canonicalKey('k'), 1)).toBeUndefined();
      });

      it('returns values as MessagePack round-trips them, null as a value and not a deletion', async () => {
        const values: unknown[] = [
          null,
          0,
          -2.5,
          2 ** 40,
          'text',
          [1, [2, 'x']],
          { count: 3, nested: { list: [true, false] } },
          new Map([['m', 1]]),
          new Date(1_700_000_000_123),
        ];
        await write(
          'wc',
          0,
          1,
          values.map((value, i) => [i, value]),
        );
        const expected = values.map((value) => decode(encode(value)));
        expect(
          await store.getMany(
            'wc',
            0,
            values.map((_, i) => canonicalKey(i)),
            1,
          ),
        ).toEqual(expected);
        expect((await scan('wc', 0, 1)).map(([, value]) => value)).toEqual(expected);
      });

      it('returns copies: changing a value read or written later does not change the state', async () => {
        const value = { list: [1] };
        await write('wc', 0, 1, [['k', value]]);
        value.list.push(2);
        const read = (await store.get('wc', 0, canonicalKey('k'), 1)) as { list: number[] };
        read.list.push(3);
        expect(await store.get('wc', 0, canonicalKey('k'), 1)).toEqual({ list: [1] });
      });

      it('rejects reading as of a negative version with E_NO_SUCH_VERSION', async () => {
        await expectCode(store.get('wc', 0, canonicalKey('k'), -1), ErrorCode.NoSuchVersion);
      });
    });

    describe('batch record', () => {
      it('records the batches merged into a partition with its write', async () => {
        await write('wc', 0, 1, [['a', 1]], ['batch-1', 'batch-2']);
        await write('wc', 1, 1, [['b', 1]], ['batch-3']);
        expect(await store.isBatchMerged('wc', 0, 'batch-1')).toBe(true);
        expect(await store.isBatchMerged('wc', 0, 'batch-3')).toBe(false);
        expect(await store.isBatchMerged('other', 0, 'batch-1')).toBe(false);
        expect(await store.mergedBatches('wc', 0)).toEqual(new Set(['batch-1', 'batch-2']));
        expect(await store.mergedBatches('wc', 1)).toEqual(new Set(['batch-3']));
      });

      it('writes neither state nor batch record when a value cannot be encoded', async () => {
        const failed = write(
          'wc',
          0,
          1,
          [
            ['good', 1],
            ['bad', Symbol('not encodable')],
          ],
          ['batch-1'],
          1,
        );
        await expectCode(failed, ErrorCode.BadValue);
        expect(await store.get('wc', 0, canonicalKey('good'), Number.POSITIVE_INFINITY)).toBeUndefined();
        expect(await store.isBatchMerged('wc', 0, 'batch-1')).toBe(false);
        expect(await store.keyCount('wc', 0, Number.POSITIVE_INFINITY)).toBe(0);
        expect(await store.listJobs()).toEqual([]);
      });

      it('reports the key count of the newest partition write at or below a version', async () => {
        await write('wc', 0, 1, [['a', 1]], [], 1);
        await write('wc', 0, 2, [['b', 1]], [], 2);
        await write('wc', 0, 3, [['b', 2]]);
        await write('wc', 1, 2, [['c', 1]], [], 7);
        expect(await store.keyCount('wc', 0, 1)).toBe(1);
        expect(await store.keyCount('wc', 0, 2)).toBe(2);
        expect(await store.keyCount('wc', 0, 3)).toBe(2);
        expect(await store.keyCount('wc', 1, 1)).toBe(0);
        expect(await store.keyCount('wc', 1, Number.POSITIVE_INFINITY)).toBe(7);
        expect(await store.keyCount('none', 0, Number.POSITIVE_INFINITY)).toBe(0);
      });
    });

    describe('restorePartition', () => {
      it('replaces one partition by a snapshot at a committed version and leaves the others alone', async () => {
        await write(
          'wc',
          0,
          1,
          [
            ['a', 1],
            ['stale', 9],
          ],
          ['b1'],
          2,
        );
        await write('wc', 1, 1, [['x', 1]], ['b1'], 1);
        await commit('wc', 1);
        await write('wc', 0, 2, [['a', 2]], ['b2'], 2);
        await write('wc', 1, 2, [['x', 2]], ['b2'], 1);
        await commit('wc', 2);
        // Partition 0 moved here at version 2: its copy says a=5, b=6.
        await store.restorePartition({
          job: 'wc',
          partition: 0,
          version: 2,
          changes: [
            [canonicalKey('a'), 5],
            [canonicalKey('b'), 6],
          ],
          batches: ['c1', 'c2'],
          keyCount: 2,
        });
        expect(await scan('wc', 0, 2)).toEqual([
          [canonicalKey('a'), 5],
          [canonicalKey('b'), 6],
        ]);
        expect(await store.get('wc', 0, canonicalKey('stale'), 2)).toBeUndefined();
        expect(await store.mergedBatches('wc', 0)).toEqual(new Set(['c1', 'c2']));
        expect(await store.keyCount('wc', 0, 2)).toBe(2);
        expect(await scan('wc', 1, 2)).toEqual([[canonicalKey('x'), 2]]);
        // Merging goes on above it.
        await write('wc', 0, 3, [['b', 7]], ['b3'], 2);
        await commit('wc', 3);
        expect(await store.get('wc', 0, canonicalKey('b'), 3)).toBe(7);
        expect(await store.get('wc', 0, canonicalKey('b'), 2)).toBe(6);
      });
    });

    describe('discardAbove', () => {
      it('restores exactly the previous version: state, batches, key counts and versions', async () => {
        await write(
          'wc',
          0,
          1,
          [
            ['a', 1],
            ['b', 1],
            ['c', 1],
          ],
          ['b1'],
          3,
        );
        await write('wc', 1, 1, [['x', 1]], ['b1'], 1);
        await commit('wc', 1);
        await write(
          'wc',
          0,
          2,
          [
            ['a', 2],
            ['b', undefined],
          ],
          ['b2'],
          2,
        );
        await commit('wc', 2);
        const before = await snapshot('wc', [0, 1], 2);
        await write(
          'wc',
          0,
          3,
          [
            ['a', 3],
            ['c', undefined],
            ['d', 3],
          ],
          ['b3'],
          3,
        );
        await write('wc', 1, 3, [['y', 3]], ['b3', 'b1'], 2);
        await commit('wc', 3);
        await write('wc', 0, 4, [['e', 4]], ['b4'], 4);
        await store.discardAbove('wc', 2);
        expect(await snapshot('wc', [0, 1], Number.POSITIVE_INFINITY)).toEqual(before);
        expect(await snapshot('wc', [0, 1], 2)).toEqual(before);
        expect(await store.listVersions('wc')).toEqual([versionInfo(1), versionInfo(2)]);
        expect(await store.latestVersion('wc')).toEqual(versionInfo(2));
      });

      it('lets a discarded version be written again without traces of the discarded writes', async () => {
        await write('wc', 0, 1, [['a', 1]]);
        await commit('wc', 1);
        await write(
          'wc',
          0,
          2,
          [
            ['a', 'discarded'],
            ['b', 'discarded'],
          ],
          ['b2'],
        );
        await store.discardAbove('wc', 1);
        await write('wc', 0, 2, [['c', 2]], ['b2-again']);
        await commit('wc', 2);
        expect(await scan('wc', 0, 2)).toEqual([
          [canonicalKey('a'), 1],
          [canonicalKey('c'), 2],
        ]);
        expect(await store.mergedBatches('wc', 0)).toEqual(new Set(['b2-again']));
      });

      it('takes a version written in two parts (a write ahead, then the checkpoint) as one, and discards both parts', async () => {
        await write(
          'wc',
          0,
          1,
          [
            ['a', 1],
            ['b', 1],
          ],
          ['b1'],
          2,
        );
        await commit('wc', 1);
        // The first part: changed values written ahead of the checkpoint, no batch record.
        await write('wc', 0, 2, [
          ['a', 'ahead'],
          ['c', 'ahead'],
        ]);
        expect(await scan('wc', 0, 1)).toEqual([
          [canonicalKey('a'), 1],
          [canonicalKey('b'), 1],
        ]);
        expect(await store.get('wc', 0, canonicalKey('a'), Number.POSITIVE_INFINITY)).toBe('ahead');
        // Discarded (a crash before the checkpoint): version 1 as it was, whatever was written ahead.
        await store.discardAbove('wc', 1);
        expect(await scan('wc', 0, Number.POSITIVE_INFINITY)).toEqual([
          [canonicalKey('a'), 1],
          [canonicalKey('b'), 1],
        ]);
        expect(await store.keyCount('wc', 0, Number.POSITIVE_INFINITY)).toBe(2);
        // Written again in two parts and committed: the second part wins where both wrote a key.
        await write(
          'wc',
          0,
          2,
          [
            ['a', 'ahead'],
            ['c', 'ahead'],
            ['b', undefined],
          ],
          [],
          2,
        );
        await write(
          'wc',
          0,
          2,
          [
            ['a', 'final'],
            ['d', 'final'],
          ],
          ['b2'],
          3,
        );
        await commit('wc', 2);
        const expected = [
          [canonicalKey('a'), 'final'],
          [canonicalKey('c'), 'ahead'],
          [canonicalKey('d'), 'final'],
        ];
        expect(await scan('wc', 0, 2)).toEqual(expected);
        expect(await scan('wc', 0, Number.POSITIVE_INFINITY)).toEqual(expected);
        expect(await store.get('wc', 0, canonicalKey('a'), 2)).toBe('final');
        expect(await store.keyCount('wc', 0, 2)).toBe(3);
        expect(await store.mergedBatches('wc', 0)).toEqual(new Set(['b1', 'b2']));
      });

      it('discards nothing of other jobs', async () => {
        await write('wc', 0, 2, [['a', 2]], ['b2']);
        await write('wc2', 0, 2, [['a', 2]], ['b2']);
        await store.discardAbove('wc', 1);
        expect(await store.get('wc2', 0, canonicalKey('a'), Number.POSITIVE_INFINITY)).toBe(2);
        expect(await store.isBatchMerged('wc2', 0, 'b2')).toBe(true);
        expect(await store.get('wc', 0, canonicalKey('a'), Number.POSITIVE_INFINITY)).toBeUndefined();
      });

      /** Everything a reader can see of some partitions of a job as of a version. */
      async function snapshot(job: string, partitions: readonly number[], asOf: number) {
        return Promise.all(
          partitions.map(async (partition) => ({
            entries: await scan(job, partition, asOf),
            batches: [...(await store.mergedBatches(job, partition))].sort(),
            keyCount: await store.keyCount(job, partition, asOf),
          })),
        );
      }
    });

    describe('dropJob', () => {
      it('removes state, batches, versions and metadata of the job', async () => {
        await write('wc', 0, 1, [['a', 1]], ['b1'], 1);
        await commit('wc', 1);
        await store.putMeta('wc', 'shape', { partitions: 1 });
        await store.dropJob('wc');
        expect(await store.listVersions('wc')).toEqual([]);
        expect(await scan('wc', 0, Number.POSITIVE_INFINITY)).toEqual([]);
        expect(await store.isBatchMerged('wc', 0, 'b1')).toBe(false);
        expect(await store.keyCount('wc', 0, Number.POSITIVE_INFINITY)).toBe(0);
        expect(await store.getMeta('wc', 'shape')).toBeUndefined();
        expect(await store.listJobs()).toEqual([]);
      });
    });

    describe('metadata', () => {
      it('creates, reads, overwrites and deletes a record', async () => {
        expect(await store.getMeta('wc', 'shape')).toBeUndefined();
        await store.putMeta('wc', 'shape', { partitions: 4, name: 'wc' });
        expect(await store.getMeta('wc', 'shape')).toEqual({ partitions: 4, name: 'wc' });
        await store.putMeta('wc', 'shape', [1, 2]);
        expect(await store.getMeta<number[]>('wc', 'shape')).toEqual([1, 2]);
        await store.deleteMeta('wc', 'shape');
        expect(await store.getMeta('wc', 'shape')).toBeUndefined();
        await store.deleteMeta('wc', 'never-written');
      });

      it('lists the names with a prefix in order, and no other job’s', async () => {
        for (const name of ['plan/2', 'plan/10', 'plan/1', 'planx', 'shape', 'pla']) await store.putMeta('wc', name, 1);
        await store.putMeta('wc2', 'plan/9', 1);
        expect(await store.listMeta('wc', 'plan/')).toEqual(['plan/1', 'plan/10', 'plan/2']);
        expect(await store.listMeta('wc', '')).toEqual(['pla', 'plan/1', 'plan/10', 'plan/2', 'planx', 'shape']);
        expect(await store.listMeta('wc', 'zzz')).toEqual([]);
      });

      it('lists every job with versions, partition writes or metadata, in order', async () => {
        await store.putMeta('meta-only', 'shape', 1);
        await write('written', 0, 1, [['a', 1]]);
        await commit('committed', 1);
        await store.putMeta('committed', 'shape', 1);
        expect(await store.listJobs()).toEqual(['committed', 'meta-only', 'written']);
      });
    });

    describe('spill area', () => {
      it('reads back each key once, in key order, with its values in append order', async () => {
        const [a, b, c] = ['a', 'b', 'c'].map((key) => canonicalKey(key)) as [string, string, string];
        await store.spill.append('merge-1', 0, [
          [b, [1, 2]],
          [a, [{ n: 3 }]],
        ]);
        await store.spill.append('merge-1', 0, [
          [a, [4, 5]],
          [c, [6]],
        ]);
        await store.spill.append('merge-1', 0, [[a, ['last']]]);
        expect(await collect(store.spill.read('merge-1', 0))).toEqual([
          [a, [{ n: 3 }, 4, 5, 'last']],
          [b, [1, 2]],
          [c, [6]],
        ]);
      });

      it('keeps partitions and namespaces apart, also when one namespace prefixes another', async () => {
        const a = canonicalKey('a');
        await store.spill.append('n1', 0, [[a, [1]]]);
        await store.spill.append('n1', 1, [[a, [2]]]);
        await store.spill.append('n10', 0, [[a, [3]]]);
        expect(await collect(store.spill.read('n1', 0))).toEqual([[a, [1]]]);
        expect(await collect(store.spill.read('n1', 1))).toEqual([[a, [2]]]);
        expect(await collect(store.spill.read('n10', 0))).toEqual([[a, [3]]]);
        expect(await collect(store.spill.read('n2', 0))).toEqual([]);
      });

      it('counts bytes per namespace and clears a namespace alone', async () => {
        const a = canonicalKey('a');
        expect(store.spill.bytes()).toBe(0);
        await store.spill.append('n1', 0, [[a, ['x'.repeat(100)]]]);
        const first = store.spill.bytes('n1');
        expect(first).toBeGreaterThanOrEqual(100);
        await store.spill.append('n1', 0, [[a, ['y'.repeat(100)]]]);
        expect(store.spill.bytes('n1')).toBeGreaterThanOrEqual(first + 100);
        await store.spill.append('n2', 0, [[a, [1]]]);
        expect(store.spill.bytes()).toBe(store.spill.bytes('n1') + store.spill.bytes('n2'));
        await store.spill.clear('n1');
        expect(store.spill.bytes('n1')).toBe(0);
        expect(await collect(store.spill.read('n1', 0))).toEqual([]);
        expect(await collect(store.spill.read('n2', 0))).toEqual([[a, [1]]]);
      });

      it('appends nothing when a value cannot be encoded', async () => {
        const failed = store.spill.append('n1', 0, [
          [canonicalKey('a'), [1]],
          [canonicalKey('b'), [Symbol('bad')]],
        ]);
        await expectCode(failed, ErrorCode.BadValue);
        expect(await collect(store.spill.read('n1', 0))).toEqual([]);
        expect(store.spill.bytes('n1')).toBe(0);
      });
    });

    describe('lifecycle', () => {
      it('is open, then closed, and closing twice is harmless', async () => {
        expect(store.state).toBe('open');
        await store.close();
        expect(store.state).toBe('closed');
        await store.close();
      });

      it('waits for pending writes when closing', async () => {
        const written = write('wc', 0, 1, [['a', 1]], ['b1']);
        const committed = commit('wc', 1);
        await store.close();
        await expect(written).resolves.toBeUndefined();
        await expect(committed).resolves.toBeUndefined();
      });

      it('rejects every call after close with E_STATE', async () => {
        await store.close();
        const key = canonicalKey('a');
        const calls: (() => Promise<unknown>)[] = [
          () => store.listVersions('wc'),
          () => store.latestVersion('wc'),
          () => store.get('wc', 0, key, 1),
          () => store.getMany('wc', 0, [key], 1),
          () => scan('wc', 0, 1),
          () => store.isBatchMerged('wc', 0, 'b'),
          () => store.mergedBatches('wc', 0),
          () => store.keyCount('wc', 0, 1),
          () => write('wc', 0, 1, [['a', 1]]),
          () => commit('wc', 1),
          () => store.discardAbove('wc', 0),
          () => store.dropJob('wc'),
          () => store.getMeta('wc', 'm'),
          () => store.putMeta('wc', 'm', 1),
          () => store.deleteMeta('wc', 'm'),
          () => store.listMeta('wc', ''),
          () => store.listJobs(),
          () => store.spill.append('n', 0, [[key, [1]]]),
          () => collect(store.spill.read('n', 0)),
          () => store.spill.clear('n'),
          async () => store.spill.bytes(),
        ];
        for (const call of calls) await expectCode(call(), ErrorCode.State);
      });

      it('stops a scan and a spill read with E_STATE when the store closes under them', async () => {
        await write(
          'wc',
          0,
          1,
          ['a', 'b', 'c'].map((key) => [key, 1]),
        );
        await store.spill.append('n', 0, [
          [canonicalKey('a'), [1]],
          [canonicalKey('b'), [2]],
          [canonicalKey('c'), [3]],
        ]);
        const entries = store.scan('wc', 0, { asOf: 1 })[Symbol.asyncIterator]();
        const spilled = store.spill.read('n', 0)[Symbol.asyncIterator]();
        expect((await entries.next()).value).toEqual([canonicalKey('a'), 1]);
        expect((await spilled.next()).value).toEqual([canonicalKey('a'), [1]]);
        await store.close();
        await expectCode(entries.next(), ErrorCode.State);
        await expectCode(spilled.next(), ErrorCode.State);
      });
    });

    it('matches a simple model over 2,000 keys and 5 versions, before and after discardAbove', async () => {
      const random = seededRandom(20_240_601);
      const job = 'random';
      const partitions = [0, 1];
      const keys = Array.from({ length: 2000 }, (_, i) =>
        canonicalKey(i % 3 === 0 ? i : i % 3 === 1 ? `k${i}` : ['k', i]),
      );
      const keysOf = (partition: number) => keys.filter((_, i) => i % partitions.length === partition);
      const model = new VersionedModel();
      // Version 4 re-runs from scratch (base 4); version 5 builds on it, so it keeps base 4.
      const bases = [0, 0, 0, 0, 4, 4];
      for (let version = 1; version <= 5; version++) {
        const fresh = bases[version] === version;
        for (const partition of partitions) {
          const previous = model.at(version - 1, partition);
          const changes: [CanonicalKey, unknown][] = [];
          for (const key of keysOf(partition)) {
            const roll = random();
            if (roll < (fresh ? 0.6 : 0.25)) changes.push([key, { version, n: Math.floor(random() * 1000) }]);
            else if (!fresh && roll < 0.35 && previous.has(key)) changes.push([key, undefined]);
          }
          const next = model.apply(version, partition, version - 1, changes, fresh);
          await store.writePartition({
            job,
            partition,
            version,
            changes,
            batches: [`batch-${version}`],
            keyCount: next.size,
          });
        }
        await commit(job, version, bases[version]);
      }
      // An uncommitted version 6, seen only as of Infinity.
      for (const partition of partitions) {
        const changes = keysOf(partition)
          .filter(() => random() < 0.2)
          .map((key) => [key, random() < 0.5 ? undefined : 'six'] as [CanonicalKey, unknown]);
        const next = model.apply(6, partition, 5, changes);
        await store.writePartition({ job, partition, version: 6, changes, batches: ['batch-6'], keyCount: next.size });
      }

      const check = async (asOf: number, modelVersion: number): Promise<void> => {
        for (const partition of partitions) {
          const expected = model.sorted(modelVersion, partition);
          expect(await scan(job, partition, asOf)).toEqual(expected);
          const contents = model.at(modelVersion, partition);
          const asked = keysOf(partition);
          expect(await store.getMany(job, partition, asked, asOf)).toEqual(asked.map((key) => contents.get(key)));
          for (const key of asked.slice(0, 50))
            expect(await store.get(job, partition, key, asOf)).toEqual(contents.get(key));
          expect(await store.keyCount(job, partition, asOf)).toBe(contents.size);
        }
      };
      for (let version = 1; version <= 5; version++) await check(version, version);
      await check(Number.POSITIVE_INFINITY, 6);

      await store.discardAbove(job, 3);
      model.discardAbove(3);
      expect((await store.listVersions(job)).map((info) => info.version)).toEqual([1, 2, 3]);
      for (let version = 1; version <= 3; version++) await check(version, version);
      await check(Number.POSITIVE_INFINITY, 3);
      expect(await store.mergedBatches(job, 0)).toEqual(new Set(['batch-1', 'batch-2', 'batch-3']));
    });
  });
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'MrmError', code });
}
