/** Conformance: blobs and key/value buckets (durability across connections, CAS, prefixes). */
import { ErrorCode } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import {
  bytes,
  type ConformanceContext,
  expectMrmError,
  expectSameBytes,
  randomPayload,
  text,
  unique,
} from './helpers.js';

/** Registers the blob and key/value tests. */
export function storageConformance(ctx: ConformanceContext): void {
  describe('blobs', () => {
    it('puts, gets, tells existence of and deletes a blob', async () => {
      const transport = await ctx.connect();
      const name = unique('bundle');
      expect(await transport.blobs.has(name)).toBe(false);
      expect(await transport.blobs.get(name)).toBeUndefined();
      await transport.blobs.put(name, bytes('v1'));
      expect(await transport.blobs.has(name)).toBe(true);
      expect(text((await transport.blobs.get(name)) ?? new Uint8Array())).toBe('v1');
      await transport.blobs.put(name, bytes('version two'));
      expect(text((await transport.blobs.get(name)) ?? new Uint8Array())).toBe('version two');
      await transport.blobs.delete(name);
      expect(await transport.blobs.has(name)).toBe(false);
      expect(await transport.blobs.get(name)).toBeUndefined();
      await transport.blobs.delete(name); // deleting a missing blob is not an error
    });

    it('round-trips a 5 MB blob, larger than any message, to another connection after the writer closed', async () => {
      const [writer, reader] = [await ctx.connect(), await ctx.connect()];
      const name = unique('input/big file.jsonl.gz');
      const data = randomPayload(5 * 1024 * 1024);
      await writer.blobs.put(name, data);
      await writer.close();
      const read = await reader.blobs.get(name);
      expectSameBytes(read, data);
      await reader.blobs.delete(name);
    });

    it('keeps blobs with similar or unusual names apart and copies bytes in and out', async () => {
      const transport = await ctx.connect();
      const base = unique('b');
      const names = [base, `${base}.x`, `${base}/x`, `${base} x`, `${base}*`, `${base}>`, `${base}é`, `${base}=2e`];
      const data = names.map((n) => bytes(`content of ${n}`));
      for (const [i, n] of names.entries()) await transport.blobs.put(n, data[i] ?? new Uint8Array());
      data[0]?.fill(0x58);
      for (const n of names) expect(text((await transport.blobs.get(n)) ?? new Uint8Array())).toBe(`content of ${n}`);
      const read = await transport.blobs.get(base);
      read?.fill(0x58);
      expect(text((await transport.blobs.get(base)) ?? new Uint8Array())).toBe(`content of ${base}`);
      for (const n of names) await transport.blobs.delete(n);
    });

    it('lists the blobs under a prefix with their sizes (or only their names), deleted ones excluded', async () => {
      const transport = await ctx.connect();
      const base = unique('list');
      await transport.blobs.put(`${base}/a`, bytes('one'));
      await transport.blobs.put(`${base}/b`, bytes('three'));
      await transport.blobs.put(`${base}x/c`, bytes('other prefix'));
      await transport.blobs.delete(`${base}/a`);
      await transport.blobs.put(`${base}/a2`, bytes('22'));
      const listed = (await transport.blobs.list(`${base}/`)).sort((x, y) => x.name.localeCompare(y.name));
      expect(listed).toEqual([
        { name: `${base}/a2`, bytes: 2 },
        { name: `${base}/b`, bytes: 5 },
      ]);
      expect(await transport.blobs.list(unique('nothing'))).toEqual([]);
      expect((await transport.blobs.names(`${base}/`)).sort()).toEqual([`${base}/a2`, `${base}/b`]);
      expect(await transport.blobs.names(unique('nothing'))).toEqual([]);
      for (const n of [`${base}/a2`, `${base}/b`, `${base}x/c`]) await transport.blobs.delete(n);
    });

    it('rejects an empty blob name with E_TRANSPORT', async () => {
      const transport = await ctx.connect();
      await expectMrmError(() => transport.blobs.put('', bytes('x')), ErrorCode.Transport);
    });
  });

  describe('key/value buckets', () => {
    it('puts and gets entries with revisions that increase with every write', async () => {
      const kv = await (await ctx.connect()).bucket(unique('jobs'));
      expect(await kv.get('job.1')).toBeUndefined();
      const r1 = await kv.put('job.1', bytes('queued'));
      const r2 = await kv.put('job.2', bytes('queued'));
      const r3 = await kv.put('job.1', bytes('running'));
      expect(r1).toBeGreaterThan(0);
      expect(r2).toBeGreaterThan(r1);
      expect(r3).toBeGreaterThan(r2);
      const entry = await kv.get('job.1');
      expect(entry && { key: entry.key, value: text(entry.value), revision: entry.revision }).toEqual({
        key: 'job.1',
        value: 'running',
        revision: r3,
      });
    });

    it('creates a key only when it does not exist, and rejects the second create with E_TRANSPORT', async () => {
      const kv = await (await ctx.connect()).bucket(unique('leases'));
      const revision = await kv.create('partition.7', bytes('worker-a'));
      await expectMrmError(() => kv.create('partition.7', bytes('worker-b')), ErrorCode.Transport);
      const entry = await kv.get('partition.7');
      expect(entry && [text(entry.value), entry.revision]).toEqual(['worker-a', revision]);
    });

    it('updates only at the expected revision (compare-and-set)', async () => {
      const kv = await (await ctx.connect()).bucket(unique('leases'));
      const r1 = await kv.create('lease', bytes('a'));
      const r2 = await kv.update('lease', bytes('b'), r1);
      expect(r2).toBeGreaterThan(r1);
      await expectMrmError(() => kv.update('lease', bytes('stale writer'), r1), ErrorCode.Transport);
      await expectMrmError(() => kv.update('missing', bytes('x'), r1), ErrorCode.Transport);
      const entry = await kv.get('lease');
      expect(entry && [text(entry.value), entry.revision]).toEqual(['b', r2]);
    });

    it('lets exactly one of two racing creators win', async () => {
      const [a, b] = [await ctx.connect(), await ctx.connect()];
      const name = unique('leases');
      const [kvA, kvB] = [await a.bucket(name), await b.bucket(name)];
      const results = await Promise.allSettled([kvA.create('lock', bytes('a')), kvB.create('lock', bytes('b'))]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r) => r.status === 'rejected');
      expect((rejected as PromiseRejectedResult | undefined)?.reason?.code).toBe(ErrorCode.Transport);
    });

    it('deletes a key, after which get misses and create succeeds again', async () => {
      const kv = await (await ctx.connect()).bucket(unique('leases'));
      await kv.create('lease', bytes('a'));
      await kv.delete('lease');
      expect(await kv.get('lease')).toBeUndefined();
      expect(await kv.keys()).toEqual([]);
      await kv.create('lease', bytes('b'));
      expect(text((await kv.get('lease'))?.value ?? new Uint8Array())).toBe('b');
      await kv.delete('never-written'); // deleting a missing key is not an error
    });

    it('lists keys, all or by prefix, including keys with unusual characters', async () => {
      const kv = await (await ctx.connect()).bucket(unique('state'));
      const keys = ['lease.1', 'lease.10', 'lease.2', 'leases', 'job.1', 'job/2 x', 'é', 'a*b', 'a>b', '.dot.', '=2e'];
      for (const key of keys) await kv.put(key, bytes(key));
      await kv.delete('lease.2');
      expect((await kv.keys()).sort()).toEqual(keys.filter((k) => k !== 'lease.2').sort());
      expect((await kv.keys('lease.')).sort()).toEqual(['lease.1', 'lease.10']);
      expect((await kv.keys('lease')).sort()).toEqual(['lease.1', 'lease.10', 'leases']);
      expect(await kv.keys('nothing')).toEqual([]);
      for (const key of keys.filter((k) => k !== 'lease.2')) {
        expect(text((await kv.get(key))?.value ?? new Uint8Array()), key).toBe(key);
      }
    });

    it('shares a bucket between connections and keeps it after the writer closed', async () => {
      const [writer, reader] = [await ctx.connect(), await ctx.connect()];
      const name = unique('jobs');
      const revision = await (await writer.bucket(name)).put('job', bytes('done'));
      await writer.close();
      const entry = await (await reader.bucket(name)).get('job');
      expect(entry && [text(entry.value), entry.revision]).toEqual(['done', revision]);
    });

    it('copies values in and out', async () => {
      const kv = await (await ctx.connect()).bucket(unique('jobs'));
      const value = bytes('original');
      await kv.put('k', value);
      value.fill(0x58);
      const first = await kv.get('k');
      first?.value.fill(0x59);
      expect(text((await kv.get('k'))?.value ?? new Uint8Array())).toBe('original');
    });

    it('rejects an empty key with E_TRANSPORT', async () => {
      const kv = await (await ctx.connect()).bucket(unique('jobs'));
      await expectMrmError(() => kv.put('', bytes('x')), ErrorCode.Transport);
    });
  });
}
