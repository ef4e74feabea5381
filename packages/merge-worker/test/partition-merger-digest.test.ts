/**
 * The digest a checkpoint reports is kept incrementally, reusing the entry hashes of values the
 * checkpoint before wrote (docs/decisions/0026): after any run of checkpoints — keys changed again
 * and again, deleted, added back, the cache evicting — it must equal the digest computed from
 * scratch over the stored state, and each layer's encoded values must decode to its changes.
 */
import { type CanonicalKey, canonicalKey, decode, resolveJob } from '@mrm/core';
import { MemoryStateStore } from '@mrm/runtime';
import { describe, expect, it } from 'vitest';
import { DigestTracker } from '../src/digest-tracker.js';
import { PartitionMerger } from '../src/partition-merger.js';
import { ValueBuffer } from '../src/value-buffer.js';

/** A count per key that a value of -1 deletes (merge returns undefined) and any other adds to. */
const job = resolveJob({
  name: 'dg',
  partitions: 1,
  salt: false,
  map(line: string, emit: (k: string, v: number) => void) {
    emit(line, 1);
  },
  reduce: (_key: unknown, values: number[]) => (values.includes(-1) ? -1 : values.reduce((a, b) => a + b, 0)),
  merge: (_key: unknown, prev: [number, string] | undefined, next: number) =>
    next === -1 ? undefined : [(prev?.[0] ?? 0) + next, `v${'x'.repeat(((prev?.[0] ?? 0) + next) % 50)}`],
});

async function scratchDigest(store: MemoryStateStore, keys: number) {
  const tracker = DigestTracker.from(undefined);
  for await (const [k, v] of store.scan('dg', 0, { asOf: Number.POSITIVE_INFINITY })) tracker.add(k, v);
  return tracker.digest(keys);
}

describe('PartitionMerger digests', () => {
  for (const maxCachedKeys of [100_000, 8]) {
    it(`equal the digest of the stored state after every checkpoint (cache of ${maxCachedKeys} keys)`, async () => {
      const store = new MemoryStateStore();
      const merger = await PartitionMerger.open({ store, jobName: 'dg', job, partition: 0 }, { maxCachedKeys });
      let seed = 7;
      const next = () => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return seed >>> 8;
      };
      for (let version = 1; version <= 12; version++) {
        for (let b = 0; b < 3; b++) {
          const buffer = new ValueBuffer(job);
          for (let i = 0; i < 15; i++) {
            const key = canonicalKey(`k${next() % 20}`) as CanonicalKey;
            buffer.add(key, next() % 7 === 0 ? -1 : 1);
          }
          await merger.mergeBatch(`b${version}-${b}`, buffer);
        }
        const layer = await merger.checkpoint(version);
        for (const [k, v] of layer.changes) {
          if (v === undefined) expect(layer.encoded.has(k)).toBe(false);
          else expect(decode(layer.encoded.get(k) as Uint8Array)).toEqual(v);
        }
        expect(layer.digest).toEqual(await scratchDigest(store, merger.keyCount));
      }
    });
  }
});
