/**
 * Salting on a cluster of real processes (nats-server, coordinator, a map worker, three merge
 * workers): Zipf keys through a counting job without combine give the plain computation's result
 * key for key, salted and not; `mrm status <job> --json` reports the pairs each merge worker
 * reduced, a numeric balance and the hot keys, and the table shows them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobStatus } from '@mrm/core';
import { zipfLines } from '@mrm/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { expectedLines, tempDir, writeJob } from './cli-helpers.js';
import { TestCluster } from './cluster-harness.js';

const COUNT_JOB = `export default {
  name: 'zipf-count',
  map(line: string, emit: (k: string, v: number) => void) { emit(line.slice(0, line.indexOf(' ')), 1); },
  reduce: (_k: string, vs: number[]) => vs.length,
  merge: (_k: string, prev: number | undefined, next: number) => (prev ?? 0) + next,
};
`;

describe('salting on a cluster', () => {
  let cluster: TestCluster | undefined;
  let cleanup: (() => void) | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    cleanup?.();
  });

  it('gives the exact result salted and unsalted, and reports balance and hot keys', { timeout: 120_000 }, async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const input = join(t.dir, 'zipf.txt');
    const text = zipfLines({ lines: 8_000, keys: 1_500, exponent: 1.2, seed: 5 });
    writeFileSync(input, text);
    const counts = new Map<string, number>();
    for (const l of text.split('\n')) {
      if (l.length > 0) counts.set(l.slice(0, l.indexOf(' ')), (counts.get(l.slice(0, l.indexOf(' '))) ?? 0) + 1);
    }
    const job = writeJob(t.dir, 'count.ts', COUNT_JOB);
    const salty = writeJob(t.dir, 'count-off.ts', COUNT_JOB.replace("'zipf-count'", "'zipf-count-off'"));
    cluster = await TestCluster.start({ maps: 1, merges: 3 });
    const c = cluster;

    const out = join(t.dir, 'salted.jsonl');
    const salted = await c.submitWait(job, [input], out, ['--batch-size', '800', '--timeout', '40000']);
    expect(salted.code, `${salted.stderr}\n${c.logs()}`).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(expectedLines(counts));
    const jobId = salted.stdout.split('\n')[0] ?? '';

    const json = await c.mrm(['status', jobId, '--json', '--nats', c.url]);
    expect(json.code, json.stderr).toBe(0);
    const status = JSON.parse(json.stdout) as JobStatus;
    const skew = status.skew;
    expect(skew, json.stdout).toBeDefined();
    expect(Object.keys(skew?.pairsByWorker ?? {}).sort()).toEqual(['merge-1', 'merge-2', 'merge-3']);
    // Every pair of the input was reduced once on some merge worker (plus the partials).
    const reduced = Object.values(skew?.pairsByWorker ?? {}).reduce((a, b) => a + b, 0);
    expect(reduced).toBeGreaterThanOrEqual(8_000);
    expect(typeof skew?.balance).toBe('number');
    expect(skew?.balance).toBeGreaterThanOrEqual(1);
    expect(skew?.hotKeys.map((h) => h.key)).toContain('"key1"');

    const table = await c.mrm(['status', jobId, '--nats', c.url]);
    expect(table.stdout).toMatch(/balance \d+\.\d\d/);
    expect(table.stdout).toMatch(/hot keys \(×factor\): "key1"×\d+/);

    const offOut = join(t.dir, 'off.jsonl');
    const off = await c.submitWait(salty, [input], offOut, ['--batch-size', '800', '--salt', 'off']);
    expect(off.code, off.stderr).toBe(0);
    expect(readFileSync(offOut, 'utf8')).toBe(expectedLines(counts));
    const offStatus = JSON.parse(
      (await c.mrm(['status', off.stdout.split('\n')[0] ?? '', '--json', '--nats', c.url])).stdout,
    ) as JobStatus;
    expect(offStatus.skew?.hotKeys).toEqual([]);
    expect(offStatus.skew?.mode).toBe('off');
  });

  it('sets a salted hot key aside whole with --on-error skip when its reduce throws', {
    timeout: 120_000,
  }, async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const input = join(t.dir, 'zipf.txt');
    const text = zipfLines({ lines: 8_000, keys: 1_500, exponent: 1.2, seed: 5 });
    writeFileSync(input, text);
    const counts = new Map<string, number>();
    for (const l of text.split('\n')) {
      if (l.length > 0) counts.set(l.slice(0, l.indexOf(' ')), (counts.get(l.slice(0, l.indexOf(' '))) ?? 0) + 1);
    }
    counts.delete('key1');
    // Declared associative, so the sample check does not refuse to salt a reduce that throws.
    const job = writeJob(
      t.dir,
      'poison.ts',
      `const associative = <T extends object>(fn: T): T =>
  Object.defineProperty(fn, Symbol.for('mrm.associative'), { value: true });
export default {
  name: 'zipf-poison',
  map(line: string, emit: (k: string, v: number) => void) { emit(line.slice(0, line.indexOf(' ')), 1); },
  reduce: associative((k: string, vs: number[]) => {
    if (k === 'key1') throw new Error('no key1');
    return vs.length;
  }),
  merge: associative((_k: string, prev: number | undefined, next: number) => (prev ?? 0) + next),
};
`,
    );
    cluster = await TestCluster.start({ maps: 1, merges: 3 });
    const c = cluster;
    const out = join(t.dir, 'out.jsonl');
    const r = await c.submitWait(job, [input], out, ['--batch-size', '800', '--on-error', 'skip']);
    expect(r.code, `${r.stderr}\n${c.logs()}`).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(expectedLines(counts));
    const status = JSON.parse(
      (await c.mrm(['status', r.stdout.split('\n')[0] ?? '', '--json', '--nats', c.url])).stdout,
    ) as JobStatus;
    expect(status.skew?.hotKeys.map((h) => h.key)).toContain('"key1"');
    const d = await c.mrm(['dead-letters', '--nats', c.url, '--job', 'zipf-poison']);
    const letters = d.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; batch: string; stage: string });
    // One per batch: the key is set aside at its home partition, not once per partition holding a part.
    expect(letters.every((l) => l.key === 'key1' && l.stage === 'reduce')).toBe(true);
    expect(new Set(letters.map((l) => l.batch)).size).toBe(letters.length);
    expect(letters.length).toBe(10);
  });
});
