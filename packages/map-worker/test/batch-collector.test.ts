import {
  aggregates,
  canonicalKey,
  decodeMessage,
  type FrameMessage,
  framePairs,
  isSubKey,
  type Key,
  partitionOf,
  type ResolvedJob,
  resolveJob,
} from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { BatchCollector } from '../src/batch-collector.js';
import { KeyTable } from '../src/key-table.js';
import { SaltRouter } from '../src/salt-router.js';

const HEADER = { jobId: 'j', run: 1, seq: 0, attempt: 0, from: 'm' };
const PARTITIONS = 5;

/**
 * What one batch must produce: per partition, the [canonical key, value…] pairs, string keys first,
 * then the others, each in first-emit order (the order of a fresh collector per batch).
 */
function reference(job: ResolvedJob, emits: readonly [Key, unknown][], salt: number): unknown[][] {
  const byKey = new Map<string, { key: Key; values: unknown[] }>();
  const ordered = [...emits.filter(([k]) => typeof k === 'string'), ...emits.filter(([k]) => typeof k !== 'string')];
  for (const [key, value] of ordered) {
    const ck = canonicalKey(key);
    const entry = byKey.get(ck);
    if (entry === undefined) byKey.set(ck, { key, values: [value] });
    else entry.values.push(value);
  }
  const pairs: unknown[][] = Array.from({ length: PARTITIONS }, () => []);
  for (const [ck, { key, values }] of byKey) {
    const target = pairs[partitionOf(ck, PARTITIONS, salt)] as unknown[];
    if (job.combine !== undefined) target.push(ck, job.combine(key, values));
    else for (const v of values) target.push(ck, v);
  }
  return pairs;
}

function collect(job: ResolvedJob, table: KeyTable, emits: readonly [Key, unknown][], salt: number): unknown[][] {
  table.acquire();
  const collector = new BatchCollector(job, table);
  for (const [key, value] of emits) collector.emit(key, value);
  return collector
    .finish(HEADER, PARTITIONS, salt, 256)
    .map((p) => p.frames.flatMap((f) => framePairs(decodeMessage(f) as FrameMessage)));
}

/** Deterministic words, some repeated across batches, some with characters JSON escapes. */
function batchOf(seed: number, n: number): [Key, unknown][] {
  const odd = ['say "hi"', 'back\\slash', 'tab\tkey', 'line\u2028sep', 'emoji 😀', 'lone \ud800', 'x'.repeat(20)];
  const out: [Key, unknown][] = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const word = x % 11 === 0 ? (odd[x % odd.length] as string) : `w${x % 300}`;
    out.push([x % 29 === 0 ? [word, x % 3] : word, (x % 7) + 1]);
  }
  return out;
}

const jobs = {
  'sum (fold)': resolveJob({ name: 'a', map: () => {}, ...aggregates.sum() }),
  'combine without fold': resolveJob({
    name: 'b',
    map: () => {},
    combine: (_k: Key, vs: number[]) => vs.reduce((a, b) => a + b, 0),
    reduce: (_k: Key, vs: number[]) => vs.length,
  }),
  'no combine': resolveJob({ name: 'c', map: () => {}, reduce: (_k: Key, vs: unknown[]) => vs.length }),
};

describe('BatchCollector with a key table kept from batch to batch', () => {
  for (const [name, job] of Object.entries(jobs)) {
    it(`${name}: every batch's frames equal a fresh per-batch grouping, across salts and table resets`, () => {
      const table = new KeyTable({ keys: 150, chars: 1_000_000 });
      for (let batch = 0; batch < 12; batch++) {
        const emits = batchOf(batch + 1, 400 + batch * 50);
        const salt = batch % 3;
        expect(collect(job, table, emits, salt)).toEqual(reference(job, emits, salt));
        expect(table.busy).toBe(false);
      }
      // The limit of 150 keys was passed (300 words and more), so the table started afresh.
      expect(table.size).toBeLessThan(400);
    });
  }

  it('keeps a string key too long for the table apart, and finish fails on it as before', () => {
    const job = jobs['sum (fold)'];
    const table = new KeyTable();
    table.acquire();
    const collector = new BatchCollector(job, table);
    collector.emit('y'.repeat(2000), 1);
    collector.emit('short', 1);
    expect(table.size).toBe(1);
    expect(() => collector.finish(HEADER, PARTITIONS, 0, 1 << 20)).toThrow(/keys are limited to 1024/);
    expect(table.busy).toBe(false);
  });

  it('a key the table holds is its own string, equal to the emitted one', () => {
    const table = new KeyTable();
    const text = `${'a'.repeat(30)} tail`;
    const key = text.slice(0, 30);
    const id = table.idOf(key);
    expect(table.keys[id]).toBe(key);
    expect(table.canonical[id]).toBe(JSON.stringify(key));
    expect(table.idOf('a'.repeat(30))).toBe(id);
  });

  it("packs a frame's pairs (decisions/0051), and lists those of a frame holding a sub-key of a salted hot key", () => {
    const job = jobs['sum (fold)'];
    const table = new KeyTable();
    table.acquire();
    const collector = new BatchCollector(job, table);
    for (let i = 0; i < 40; i++) collector.emit(i % 4 === 0 ? 'hot' : `w${i}`, 1);
    const router = new SaltRouter({ keys: [canonicalKey('hot')], factors: [2], check: false }, PARTITIONS, 0);
    const outputs = collector.finish(HEADER, PARTITIONS, 0, 1 << 20, { router });
    let packed = 0;
    let listed = 0;
    let pairs = 0;
    for (const frame of outputs.flatMap((p) => p.frames)) {
      const m = decodeMessage(frame) as FrameMessage;
      const list = framePairs(m);
      pairs += list.length / 2;
      const salted = list.some((k, i) => i % 2 === 0 && isSubKey(k as string));
      if (salted) {
        listed++;
        expect([m.pairs, m.packed]).toEqual([list, undefined]);
      } else {
        packed++;
        expect([m.pairs, m.count]).toEqual([undefined, list.length / 2]);
        expect(m.packed).toBeInstanceOf(Uint8Array);
      }
    }
    // 30 plain words and 'hot', folded into one value, under one of its sub-keys.
    expect(pairs).toBe(31);
    expect(listed).toBeGreaterThan(0);
    expect(packed).toBeGreaterThan(0);
  });
});
