/**
 * Versions a user can trust, through the real `mrm` binary on real LMDB: hashes that do not depend
 * on batching or partitions, and pruning old versions (`--keep-versions`).
 */
import { hash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalKey, encode, type Key } from '@mrm/core';
import { open } from 'lmdb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mrm, readJsonLines, tempDir, writeJob } from './cli-helpers.js';
import { DAYS, perStatusSum, type VersionLine, versionsJson } from './state-helpers.js';

/** The documented hash, recomputed from a result file: Σ md5(key ‖ 0 ‖ msgpack(value)) mod 2^128. */
function hashOfResult(path: string): { hash: string; bytes: number; keys: number } {
  let sum = 0n;
  let bytes = 0;
  const rows = readJsonLines(path);
  for (const [key, value] of rows) {
    const k = Buffer.from(canonicalKey(key as Key), 'utf8');
    const v = encode(value);
    const md5 = hash('md5', Buffer.concat([k, Buffer.of(0), v]), 'buffer');
    sum += (md5.readBigUInt64BE(0) << 64n) | md5.readBigUInt64BE(8);
    bytes += k.length + v.length;
  }
  return { hash: (sum & ((1n << 128n) - 1n)).toString(16).padStart(32, '0'), bytes, keys: rows.length };
}

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

describe('mrm versions --json', () => {
  it('gives the same hash, keys and bytes whatever the batching and partitions, and the documented hash', async () => {
    const job16 = writeJob(dir, 'sum16.ts', perStatusSum());
    const job3 = writeJob(dir, 'sum3.ts', perStatusSum(3));
    const runs = [
      { job: job16, state: join(dir, 'a'), args: ['--batch-size', '40', '--checkpoint-every', '2'] },
      { job: job16, state: join(dir, 'b'), args: ['--batch-size', '500', '--checkpoint-every', '1'] },
      { job: job3, state: join(dir, 'c'), args: ['--batch-size', '70', '--checkpoint-every', '3'] },
    ];
    const finals: VersionLine[] = [];
    for (const run of runs) {
      const r = await mrm(['run', run.job, '--input', ...DAYS, '--state', run.state, '-q', ...run.args]);
      expect(r.code, r.stderr).toBe(0);
      const versions = await versionsJson(run.state, 'per-status');
      expect(versions.length).toBeGreaterThan(0);
      for (const v of versions) {
        expect(v.hash).toMatch(/^[0-9a-f]{32}$/);
        expect(Number.isNaN(Date.parse(v.committedAt))).toBe(false);
      }
      finals.push(versions.at(-1) as VersionLine);
    }
    const [a, b, c] = finals as [VersionLine, VersionLine, VersionLine];
    expect(a.version).not.toBe(b.version);
    expect({ hash: b.hash, keys: b.keys, bytes: b.bytes }).toEqual({ hash: a.hash, keys: a.keys, bytes: a.bytes });
    expect({ hash: c.hash, keys: c.keys, bytes: c.bytes }).toEqual({ hash: a.hash, keys: a.keys, bytes: a.bytes });
    // Every version's hash is the documented digest of the state as of that version.
    const out = join(dir, 'out.jsonl');
    const versions = await versionsJson(join(dir, 'a'), 'per-status');
    for (const v of [versions[0], versions.at(-1)] as VersionLine[]) {
      const q = await mrm([
        'query',
        '--state',
        join(dir, 'a'),
        '--job',
        'per-status',
        '--version',
        String(v.version),
        '--out',
        out,
      ]);
      expect(q.code, q.stderr).toBe(0);
      expect(hashOfResult(out)).toEqual({ hash: v.hash, bytes: v.bytes, keys: v.keys });
    }
    // The plain listing still starts each line with the version id.
    const plain = await mrm(['versions', '--state', join(dir, 'a'), '--job', 'per-status']);
    expect(plain.stdout.split('\n')[0]).toMatch(/^1\t/);
  }, 240_000);
});

describe('--keep-versions', () => {
  it('keeps the state entries on disk flat over a long run, and every kept version answers exactly', async () => {
    const job = writeJob(
      dir,
      'sum.ts',
      `
import { aggregates, defineJob } from '@mrm/core';
export default defineJob({
  name: 'keys',
  map(line: string, emit) { const [k, n] = line.split(' '); emit(k, Number(n)); },
  ...aggregates.sum(),
});
`,
    );
    const state = join(dir, 'state');
    const KEYS = 150;
    const DAYS_RUN = 6;
    const KEEP = 2;
    const totals: Map<string, number>[] = [];
    const entries: number[] = [];
    const running = new Map<string, number>();
    for (let day = 1; day <= DAYS_RUN; day++) {
      const lines: string[] = [];
      for (let i = 0; i < KEYS; i++) {
        const n = (i * 7 + day * 13) % 50;
        lines.push(`k${i} ${n}`);
        running.set(`k${i}`, (running.get(`k${i}`) ?? 0) + n);
      }
      const file = join(dir, `day${day}.txt`);
      writeFileSync(file, `${lines.join('\n')}\n`);
      totals.push(new Map(running));
      const r = await mrm(['run', job, '--input', file, '--state', state, '--keep-versions', String(KEEP), '-q']);
      expect(r.code, r.stderr).toBe(0);
      entries.push(countStateEntries(join(state, 'lmdb'), 'keys'));
    }
    // Without pruning every day adds an entry per key; with it the entries stay within the kept
    // versions (plus the pass that prunes only every so often).
    expect(Math.max(...entries)).toBeLessThanOrEqual(KEYS * (KEEP + 1));
    expect(entries.at(-1)).toBeLessThanOrEqual(entries[KEEP] as number);
    const versions = await versionsJson(state, 'keys');
    expect(versions.map((v) => v.version)).toEqual(
      Array.from({ length: versions.length }, (_, i) => DAYS_RUN - versions.length + 1 + i),
    );
    expect(versions.length).toBeGreaterThanOrEqual(KEEP);
    expect(versions.length).toBeLessThanOrEqual(KEEP + 1);
    const out = join(dir, 'out.jsonl');
    for (const v of [versions[0], versions.at(-1)] as VersionLine[]) {
      const q = await mrm(['query', '--state', state, '--job', 'keys', '--version', String(v.version), '--out', out]);
      expect(q.code, q.stderr).toBe(0);
      expect(new Map(readJsonLines(out) as [string, number][])).toEqual(totals[v.version - 1]);
    }
    const gone = await mrm(['query', '--state', state, '--job', 'keys', '--version', '1']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/has no version 1/);
  }, 300_000);
});

/** Raw entries of a job in the `state` database (every version of every key). */
function countStateEntries(lmdbDir: string, job: string): number {
  const env = open({ path: lmdbDir, readOnly: true, maxDbs: 10 });
  try {
    const db = env.openDB({ name: 'state', encoding: 'msgpack' });
    let n = 0;
    for (const key of db.getKeys({ start: [job], end: [job, Uint8Array.of(0xff)] })) if (key !== undefined) n++;
    return n;
  } finally {
    void env.close();
  }
}
