/**
 * `mrm run --merge-memory`: a merge worker whose state does not fit its budget writes changed
 * values into the pending version ahead of its checkpoint (docs/decisions/0040). Killed (SIGKILL)
 * while such writes are in the store, the state stays at the last committed version, and the run
 * after the kill gives exactly the result of an uninterrupted computation.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LmdbStateStore } from '@mrm/store-lmdb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectedLines, mrm, tempDir, writeJob } from './cli-helpers.js';

const KEYS = 800;
const LINES = 3000;

/** Per key: how many lines, and the greatest ~1 KB text among them (order-independent). */
function jobSource(marker: string): string {
  return `
import { existsSync, writeFileSync } from 'node:fs';
import { defineJob } from '@mrm/core';
type V = { n: number; text: string };
const most = (a: V, b: V): V => ({ n: a.n + b.n, text: a.text > b.text ? a.text : b.text });
let merges = 0;
export default defineJob({
  name: 'big',
  partitions: 2,
  map(line: string, emit) {
    const space = line.indexOf(' ');
    emit(line.slice(0, space), { n: 1, text: line.slice(space + 1) });
  },
  reduce: (_k, vs: V[]) => vs.reduce(most),
  merge(_k, prev: V | undefined, next: V) {
    // Killed once, well into the second version (batches 21-40 of 60), before it is written.
    if (++merges === 1700 && !existsSync(${JSON.stringify(marker)})) {
      writeFileSync(${JSON.stringify(marker)}, '');
      process.kill(process.pid, 'SIGKILL');
    }
    return prev === undefined ? next : most(prev, next);
  },
});
`;
}

function inputLines(): string[] {
  return Array.from({ length: LINES }, (_, i) => {
    const filler = `${i}`.padStart(6, '0').repeat(170);
    return `k${i % KEYS} ${filler}`;
  });
}

function reference(lines: readonly string[]): Map<unknown, unknown> {
  const out = new Map<string, { n: number; text: string }>();
  for (const line of lines) {
    const space = line.indexOf(' ');
    const k = line.slice(0, space);
    const text = line.slice(space + 1);
    const cur = out.get(k);
    out.set(k, cur === undefined ? { n: 1, text } : { n: cur.n + 1, text: cur.text > text ? cur.text : text });
  }
  return out;
}

describe('mrm run --merge-memory', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
  });
  afterEach(() => cleanup());

  it('killed while state is written ahead of a checkpoint, keeps the committed version and reruns exactly', async () => {
    const job = writeJob(dir, 'big.ts', jobSource(join(dir, 'killed-once')));
    const input = join(dir, 'big.txt');
    const lines = inputLines();
    writeFileSync(input, `${lines.join('\n')}\n`);
    const st = join(dir, 'st');
    // 1 MiB: the state's budget is 128 KiB per partition; each holds ~400 KB of values.
    const args = ['run', job, '--input', input, '--state', st, '--batch-size', '50', '--checkpoint-every', '20'];
    const killed = await mrm([...args, '--merge-memory', '1']);
    expect(killed.signal).toBe('SIGKILL');

    // Version 1 committed; version 2 partly in the store, written ahead, not committed.
    const store = await LmdbStateStore.open({ path: join(st, 'lmdb'), readOnly: true });
    let ahead = 0;
    try {
      expect((await store.latestVersion('big'))?.version).toBe(1);
      for (const p of [0, 1]) {
        for await (const [k, v] of store.scan('big', p, { asOf: Number.POSITIVE_INFINITY })) {
          const committed = (await store.get('big', p, k, 1)) as { n: number };
          if ((v as { n: number }).n !== committed.n) ahead++;
        }
      }
    } finally {
      await store.close();
    }
    expect(ahead).toBeGreaterThan(0);
    const first = await mrm(['query', '--state', st, '--job', 'big', '--version', '1']);
    expect(first.stdout).toBe(expectedLines(reference(lines.slice(0, 1000))));

    const out = join(dir, 'out.jsonl');
    const again = await mrm([...args, '--merge-memory', '1', '--out', out]);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(expectedLines(reference(lines)));
  });

  it('merges batches far larger than the state budget into stored state exactly, a checkpoint after each', async () => {
    const marker = join(dir, 'never-killed');
    writeFileSync(marker, '');
    const job = writeJob(dir, 'big.ts', jobSource(marker));
    const lines = inputLines();
    const state = join(dir, 'state.txt');
    const increment = join(dir, 'increment.txt');
    writeFileSync(state, `${lines.slice(0, KEYS).join('\n')}\n`);
    writeFileSync(increment, `${lines.slice(KEYS).join('\n')}\n`);
    const st = join(dir, 'st');
    const built = await mrm(['run', job, '--input', state, '--state', st, '--quiet']);
    expect(built.code, built.stderr).toBe(0);
    // A batch brings ~200 KB of stored values into each partition's 128 KiB: a checkpoint's write
    // settling while the next batch merges used to evict values read and not merged yet, which the
    // merge then took for absent (decision 0056).
    const out = join(dir, 'out.jsonl');
    const increased = await mrm([
      'run',
      job,
      '--input',
      increment,
      '--state',
      st,
      '--quiet',
      '--batch-size',
      '400',
      '--checkpoint-every',
      '1',
      '--merge-memory',
      '1',
      '--out',
      out,
    ]);
    expect(increased.code, increased.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(expectedLines(reference(lines)));
  });

  it('rejects a merge memory that is not a positive whole number of MiB', async () => {
    const r = await mrm([
      'run',
      writeJob(dir, 'j.ts', jobSource(join(dir, 'm'))),
      '--input',
      dir,
      '--merge-memory',
      '0',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("'0' is not a positive integer");
    expect(r.stderr).toContain('--merge-memory');
  });
});
