/**
 * Event-time windows with a watermark and allowed lateness, through the real `mrm run`: records
 * out of order within the lateness land in their windows, records past it are counted (and dead
 * letters with `--on-error skip`), final windows leave the state with `retain`, and the watermark
 * carries over from one run to the next with the committed version. Every expectation comes from
 * window-reference.ts, which computes the same thing the plain way.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mrm, tempDir, writeJob } from './cli-helpers.js';
import { type TimedRecord, timedJob, timedRecords, windowReference } from './window-reference.js';

const START = Date.parse('2025-06-01T12:00:00Z');
const MIN = 60_000;

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

function writeRecords(name: string, records: readonly TimedRecord[]): string {
  const path = join(dir, name);
  writeFileSync(path, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return path;
}

interface VersionLine {
  version: number;
  keys: number;
  hash: string;
  watermark?: string;
  watermarkMs?: number;
  lateRecords?: number;
}

async function versions(state: string, job: string): Promise<VersionLine[]> {
  const r = await mrm(['versions', '--state', state, '--job', job, '--json'], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as VersionLine);
}

describe('event-time windows with allowed lateness (mrm run)', () => {
  it('puts out-of-order records in their windows, counts late ones and sets them aside with skip', async () => {
    const records = timedRecords(1200, 11, START);
    const input = writeRecords('in.jsonl', records);
    const ref = windowReference(records, { sizeMs: MIN, latenessMs: 5 * MIN, batchSize: 40, checkpointEvery: 3 });
    // The input exercises both cases: out of order within the lateness, and past it.
    expect(ref.outOfOrderOnTime).toBeGreaterThan(300);
    expect(ref.lateLines.length).toBeGreaterThan(10);
    const job = writeJob(dir, 'late.ts', timedJob({ name: 'late', lateness: '5m' }));

    const skip = await mrm(
      ['run', job, '--input', input, '--state', 'skip', '--batch-size', '40', '--checkpoint-every', '3'],
      { cwd: dir },
    );
    expect(skip.code, skip.stderr).toBe(0);
    // Default --on-error fail: late records are counted, the run does not fail (as Flink drops them).
    expect(skip.stderr).toContain(`${ref.lateLines.length} late records (windows already final, not merged)`);
    const result = await mrm(['query', '--state', 'skip', '--job', 'late', '--out', '-'], { cwd: dir });
    expect(result.stdout).toBe(ref.result);
    const dead = await mrm(['dead-letters', '--state', 'skip', '--job', 'late'], { cwd: dir });
    expect(dead.stdout).toBe('');

    const skipped = await mrm(
      ['run', job, '--input', input, '--state', 'skip2', '--batch-size', '40', '--checkpoint-every', '3'].concat([
        '--on-error',
        'skip',
      ]),
      { cwd: dir },
    );
    expect(skipped.code, skipped.stderr).toBe(0);
    const letters = (await mrm(['dead-letters', '--state', 'skip2', '--job', 'late'], { cwd: dir })).stdout
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as { stage: string; line: number; source: string; message: string });
    expect(letters.map((l) => l.line).sort((a, b) => a - b)).toEqual(ref.lateLines);
    expect(letters.every((l) => l.stage === 'late' && l.source === input)).toBe(true);
    expect(letters[0]?.message).toMatch(/^late: its window ended at .*Z, at or before the watermark .*Z$/);
    expect((await mrm(['query', '--state', 'skip2', '--job', 'late', '--out', '-'], { cwd: dir })).stdout).toBe(
      ref.result,
    );

    const listed = await versions('skip2', 'late');
    expect(listed.map((v) => v.watermarkMs)).toEqual(ref.watermarks);
    expect(listed.at(-1)?.watermark).toBe(new Date(ref.watermarks.at(-1) as number).toISOString());
    expect(listed.at(-1)?.lateRecords).toBe(ref.lateLines.length);
  }, 120_000);

  it('drops final windows with retain, so the key count stays bounded over many batches', async () => {
    const records = timedRecords(3000, 5, START);
    const input = writeRecords('long.jsonl', records);
    const o = { sizeMs: MIN, latenessMs: 2 * MIN, retainMs: 3 * MIN, batchSize: 15, checkpointEvery: 1 };
    const ref = windowReference(records, o);
    const job = writeJob(dir, 'bounded.ts', timedJob({ name: 'bounded', lateness: '2m', retain: '3m' }));
    const r = await mrm(
      ['run', job, '--input', input, '--state', 'st', '--batch-size', '15', '--checkpoint-every', '1'].concat([
        '--keep-versions',
        'all',
      ]),
      { cwd: dir },
    );
    expect(r.code, r.stderr).toBe(0);
    const listed = await versions('st', 'bounded');
    expect(listed).toHaveLength(200);
    expect(listed.map((v) => v.keys)).toEqual(ref.keys);
    // 300 windows went through the state; at no version did it hold more than lateness + retain
    // (5 minutes of 1-minute windows) plus the windows ahead of the watermark.
    expect(ref.windowsSeen).toBeGreaterThan(250);
    expect(Math.max(...listed.map((v) => v.keys))).toBeLessThanOrEqual(8);
    const result = await mrm(['query', '--state', 'st', '--job', 'bounded', '--out', '-'], { cwd: dir });
    expect(result.stdout).toBe(ref.result);
    // A dropped window is absent from the latest version, and still readable at a version that had it.
    const first = JSON.parse(ref.result.split('\n')[0] as string) as { key: unknown };
    const gone = JSON.stringify([new Date(START).toISOString(), 'hits']);
    expect(JSON.stringify(first.key)).not.toBe(gone);
    const absent = await mrm(['query', '--state', 'st', '--job', 'bounded', '--key', gone], { cwd: dir });
    expect(absent.code).not.toBe(0);
    const old = await mrm(['query', '--state', 'st', '--job', 'bounded', '--key', gone, '--version', '1'], {
      cwd: dir,
    });
    expect(old.code, old.stderr).toBe(0);
  }, 120_000);

  it('carries the watermark from run to run: two runs give what one run over both gives, hash included', async () => {
    const records = timedRecords(600, 23, START);
    // 300 records = 10 whole batches of 30: the same batches whether the input comes in one file or two.
    const whole = writeRecords('whole.jsonl', records);
    const first = writeRecords('first.jsonl', records.slice(0, 300));
    const second = writeRecords('second.jsonl', records.slice(300));
    const job = writeJob(dir, 'carry.ts', timedJob({ name: 'carry', lateness: '3m', retain: '2m' }));
    const run = (state: string, input: string) =>
      mrm(['run', job, '--input', input, '--state', state, '--batch-size', '30', '--checkpoint-every', '5'], {
        cwd: dir,
      });
    expect((await run('one', whole)).code).toBe(0);
    expect((await run('two', first)).code).toBe(0);
    expect((await run('two', second)).code).toBe(0);
    const ref = windowReference(records, {
      sizeMs: MIN,
      latenessMs: 3 * MIN,
      retainMs: 2 * MIN,
      batchSize: 30,
      checkpointEvery: 5,
    });
    // Records of the second file are late against the first file's watermark.
    expect(ref.lateLines.some((l) => l > 300 && l <= 330)).toBe(true);
    const [one, two] = [await versions('one', 'carry'), await versions('two', 'carry')];
    expect(two.map((v) => [v.hash, v.watermarkMs, v.lateRecords, v.keys])).toEqual(
      one.map((v) => [v.hash, v.watermarkMs, v.lateRecords, v.keys]),
    );
    expect(one.at(-1)?.lateRecords).toBe(ref.lateLines.length);
    expect((await mrm(['query', '--state', 'two', '--job', 'carry', '--out', '-'], { cwd: dir })).stdout).toBe(
      ref.result,
    );
  }, 120_000);

  it('with sliding windows drops a record only when all its windows are final (as Flink does)', async () => {
    const job = writeJob(
      dir,
      'sliding.ts',
      `import { aggregates, defineJob } from '@mrm/core';
export default defineJob({
  name: 'sliding',
  input: 'jsonl',
  window: { time: (r: { t: string }) => r.t, size: '10m', slide: '5m', lateness: 0 },
  map(_r: { t: string }, emit) { emit('n', 1); },
  ...aggregates.count(),
});
`,
    );
    // One record per batch. 10:12 sets the watermark to 10:12. 10:08 falls in [10:00, 10:10), final,
    // and [10:05, 10:15), open: it counts in the open one only. 10:03's windows both ended: late.
    const times = ['10:12', '10:08', '10:03', '10:21'].map((hm) => ({ t: `2025-06-01T${hm}:00Z` }));
    writeFileSync(join(dir, 'sliding.jsonl'), times.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const r = await mrm(['run', job, '--input', 'sliding.jsonl', '--state', 'st', '--batch-size', '1', '--out', '-'], {
      cwd: dir,
    });
    expect(r.code, r.stderr).toBe(0);
    const counts = r.stdout
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as { key: [string, string]; value: number })
      .map((e) => [e.key[0].slice(11, 16), e.value]);
    expect(counts).toEqual([
      ['10:05', 2],
      ['10:10', 1],
      ['10:15', 1],
      ['10:20', 1],
    ]);
    expect(r.stderr).toContain('1 late record (windows already final, not merged)');
  }, 60_000);
});
