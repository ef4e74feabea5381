import { ErrorCode, type KeyValueBucket, MrmError, type Transport, type VersionInfo } from '@mrm/core';
import { MemoryBus, MemoryStateStore } from '@mrm/runtime';
import { describe, expect, it } from 'vitest';
import { INLINE_RECORD_MAX_BYTES, KvRecordStore, RECORDS_BUCKET } from '../src/kv-record-store.js';
import { copyRecords } from '../src/record-copy.js';

const version = (v: number): VersionInfo => ({
  version: v,
  createdAtMs: 1000 + v,
  base: 0,
  batches: v * 2,
  records: v * 10,
  keys: v,
  label: `v${v}`,
});

describe('KvRecordStore', () => {
  it('gives a store opened later, on another connection, what the first one wrote', async () => {
    const bus = MemoryBus.create();
    const first = await KvRecordStore.open(bus.connect());
    await first.putMeta('wc', 'shape', { partitions: 4 });
    await first.putMeta('wc', 'batches@000000000002', ['b3']);
    await first.putMeta('wc', 'batches@000000000001', ['b1', 'b2']);
    await first.putMeta('other', 'batches@000000000001', ['x']);
    await first.commitVersion('wc', version(1));
    await first.commitVersion('wc', version(2));
    await first.close();
    const second = await KvRecordStore.open(bus.connect());
    expect(await second.getMeta('wc', 'shape')).toEqual({ partitions: 4 });
    expect(await second.listMeta('wc', 'batches@')).toEqual(['batches@000000000001', 'batches@000000000002']);
    expect((await second.listVersions('wc')).map((v) => v.version)).toEqual([1, 2]);
    expect(await second.latestVersion('wc')).toEqual(version(2));
    expect(await second.latestVersion('other')).toBeUndefined();
    await second.deleteMeta('wc', 'shape');
    expect(await second.getMeta('wc', 'shape')).toBeUndefined();
    expect(await second.listMeta('wc', '')).toEqual(['batches@000000000001', 'batches@000000000002']);
  });

  it('commits versions in order only, discards above a version and prunes below one', async () => {
    const store = await KvRecordStore.open(MemoryBus.create().connect());
    for (const v of [1, 2, 3, 4]) await store.commitVersion('wc', version(v));
    await expect(store.commitVersion('wc', { ...version(4), label: 'another run' })).rejects.toMatchObject({
      code: ErrorCode.State,
    });
    // The same commit again (sent again while the first was being written) is a repeat: skipped.
    await store.commitVersions('wc', [version(3), version(4)]);
    expect((await store.listVersions('wc')).map((v) => v.version)).toEqual([1, 2, 3, 4]);
    await store.discardAbove('wc', 3);
    expect((await store.listVersions('wc')).map((v) => v.version)).toEqual([1, 2, 3]);
    expect(await store.pruneBelow('wc', 2)).toEqual({ entries: 0, versions: 1 });
    expect((await store.listVersions('wc')).map((v) => v.version)).toEqual([2, 3]);
    await expect(store.pruneBelow('wc', 7)).rejects.toMatchObject({ code: ErrorCode.NoSuchVersion });
  });

  it('commits a group of versions in one compare-and-set of the version list, all or none', async () => {
    const transport = MemoryBus.create().connect();
    const store = await KvRecordStore.open(transport);
    await store.commitVersion('wc', version(1));
    const bucket = await transport.bucket(RECORDS_BUCKET);
    const before = (await bucket.get('v/wc'))?.revision ?? 0;
    await store.commitVersions('wc', [version(2), version(3), version(4)]);
    expect((await bucket.get('v/wc'))?.revision).toBe(before + 1);
    expect(await store.listVersions('wc')).toEqual([1, 2, 3, 4].map(version));
    await expect(store.commitVersions('wc', [version(5), version(5)])).rejects.toMatchObject({ code: ErrorCode.State });
    expect((await store.listVersions('wc')).map((v) => v.version)).toEqual([1, 2, 3, 4]);
  });

  it('keeps a record too large for one message in a blob, and removes the blob with it', async () => {
    const bus = MemoryBus.create();
    const transport = bus.connect();
    const store = await KvRecordStore.open(transport);
    const big = 'x'.repeat(INLINE_RECORD_MAX_BYTES + 10);
    await store.putMeta('wc', 'plan:big', { big });
    expect(await transport.blobs.has('records/m/wc/plan:big')).toBe(true);
    expect(await (await KvRecordStore.open(bus.connect())).getMeta('wc', 'plan:big')).toEqual({ big });
    await store.deleteMeta('wc', 'plan:big');
    expect(await transport.blobs.has('records/m/wc/plan:big')).toBe(false);
  });

  it('writes nothing once its guard says this coordinator no longer leads', async () => {
    let leading = true;
    const guard = async () => {
      if (!leading) throw new MrmError(ErrorCode.Fenced, 'not leading');
    };
    const store = await KvRecordStore.open(MemoryBus.create().connect(), { guard });
    await store.putMeta('wc', 'shape', 1);
    leading = false;
    await expect(store.putMeta('wc', 'shape', 2)).rejects.toMatchObject({ code: ErrorCode.Fenced });
    await expect(store.commitVersion('wc', version(1))).rejects.toMatchObject({ code: ErrorCode.Fenced });
    await expect(store.deleteMeta('wc', 'shape')).rejects.toMatchObject({ code: ErrorCode.Fenced });
    expect(await store.getMeta('wc', 'shape')).toBe(1);
    expect(await store.listVersions('wc')).toEqual([]);
  });

  it('refuses to write a version list another coordinator changed since it was read (E_FENCED)', async () => {
    const bus = MemoryBus.create();
    const other = await KvRecordStore.open(bus.connect());
    await other.commitVersion('wc', version(1));
    // The other coordinator writes between this one's read of the list and its write.
    const transport = bus.connect();
    let armed = true;
    const racing: Transport = Object.create(transport, {
      bucket: {
        value: async (name: string): Promise<KeyValueBucket> => {
          const real = await transport.bucket(name);
          return {
            get: async (key) => {
              const entry = await real.get(key);
              if (armed && key === 'v/wc') {
                armed = false;
                await other.commitVersion('wc', { ...version(2), createdAtMs: 9_999 });
              }
              return entry;
            },
            put: (key, value) => real.put(key, value),
            create: (key, value) => real.create(key, value),
            update: (key, value, revision) => real.update(key, value, revision),
            delete: (key) => real.delete(key),
            keys: (prefix) => real.keys(prefix),
          };
        },
      },
    });
    const store = await KvRecordStore.open(racing);
    await expect(store.commitVersion('wc', version(2))).rejects.toMatchObject({ code: ErrorCode.Fenced });
    expect((await other.listVersions('wc')).map((v) => v.version)).toEqual([1, 2]);
  });
});

describe('copyRecords', () => {
  it('moves every metadata record and committed version of every job into an empty record store', async () => {
    const old = new MemoryStateStore();
    await old.putMeta('wc', 'shape', { partitions: 2 });
    await old.putMeta('wc', 'batches@000000000001', ['b1']);
    await old.putMeta('_mrm', 'job:000000000000001:wc-1', { jobId: 'wc-1', state: 'succeeded' });
    await old.commitVersion('wc', version(1));
    await old.commitVersion('wc', version(2));
    const store = await KvRecordStore.open(MemoryBus.create().connect());
    expect(store.isEmpty()).toBe(true);
    expect(await copyRecords(old, store)).toEqual({ jobs: 2, records: 3, versions: 2 });
    expect(store.isEmpty()).toBe(false);
    expect(await store.getMeta('wc', 'shape')).toEqual({ partitions: 2 });
    expect(await store.listMeta('_mrm', 'job:')).toEqual(['job:000000000000001:wc-1']);
    expect(await store.listVersions('wc')).toEqual([version(1), version(2)]);
  });
});
