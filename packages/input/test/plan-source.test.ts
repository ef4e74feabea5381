import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { MAX_BATCH_BYTES, planSource, type SourcePlan } from '@mrm/input';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectedBatches, expectedBatchId, fixture, makeTempDir, rejectionOf, shapeOf, sourceOf } from './helpers.js';

const plan = (file: string, batchLines: number, gzip?: boolean) =>
  planSource(sourceOf(file, gzip), { format: 'lines', batchLines });

/** Checks a plan against an independent byte-by-byte cut of `bytes`. */
function expectPlanOf(result: SourcePlan, bytes: Buffer, batchLines: number): void {
  const expected = expectedBatches(bytes, batchLines);
  expect(shapeOf(result.batches)).toEqual(expected);
  expect(result.batches.map((b) => b.ordinal)).toEqual(expected.map((_, i) => i));
  expect(result.batches.map((b) => b.batchId)).toEqual(
    expected.map((b) => expectedBatchId(result.path, b.startOffset, b.contentHash)),
  );
  expect(result.size).toBe(bytes.length);
  const last = expected[expected.length - 1];
  expect(result.lines).toBe(last === undefined ? 0 : last.firstLine + last.lines - 1);
}

describe('planSource', () => {
  let dir: string;
  let remove: () => void;
  beforeEach(() => ({ dir, remove } = makeTempDir()));
  afterEach(() => remove());

  it('cuts a log into batches of batchLines lines at the offsets an independent count finds', async () => {
    const file = fixture('apache-500.log');
    const bytes = fs.readFileSync(file);
    const result = await plan(file, 64);
    expectPlanOf(result, bytes, 64);
    expect(result).toMatchObject({ lines: 500, batchLines: 64, format: 'lines', gzip: false });
    expect(result.batches.map((b) => b.lines)).toEqual([64, 64, 64, 64, 64, 64, 64, 52]);
  });

  it('ends a batch at the first line end at or past MAX_BATCH_BYTES, whatever batchLines says', async () => {
    const line = `${'x'.repeat(1023)}\n`;
    const lines = Math.ceil((MAX_BATCH_BYTES * 1.5) / line.length);
    const file = path.join(dir, 'long-lines.txt');
    fs.writeFileSync(file, line.repeat(lines));
    const result = await plan(file, 10_000_000);
    const perBatch = Math.ceil(MAX_BATCH_BYTES / line.length);
    expect(result.batches.map((b) => b.lines)).toEqual([perBatch, lines - perBatch]);
    expect(result.batches[0]?.endOffset).toBe(perBatch * line.length);
    expect(result.lines).toBe(lines);
  });

  it('does not add an empty batch when the lines divide evenly', async () => {
    const result = await plan(fixture('apache-500.log'), 100);
    expect(result.batches.map((b) => b.lines)).toEqual([100, 100, 100, 100, 100]);
  });

  it('puts a small file in one batch', async () => {
    const result = await plan(fixture('apache-500.log'), 1_000_000);
    expect(result.batches).toHaveLength(1);
    expect(result.batches[0]).toMatchObject({ startOffset: 0, firstLine: 1, lines: 500 });
  });

  it('counts a final line without a newline', async () => {
    const file = fixture('frankenstein-no-final-newline.txt');
    const result = await plan(file, 10);
    expectPlanOf(result, fs.readFileSync(file), 10);
    expect(result.lines).toBe(25);
    expect(result.batches.map((b) => b.lines)).toEqual([10, 10, 5]);
  });

  it('cuts CRLF files at the \\n of each line', async () => {
    const file = fixture('metamorphosis-crlf.txt');
    const result = await plan(file, 7);
    expectPlanOf(result, fs.readFileSync(file), 7);
    expect(result.lines).toBe(40);
  });

  it('gives an empty file no batches', async () => {
    const result = await plan(fixture('empty.txt'), 10);
    expect(result).toMatchObject({ size: 0, lines: 0, batches: [] });
  });

  it('plans a gzip file over its decompressed bytes', async () => {
    const bytes = fs.readFileSync(fixture('apache-500.log'));
    const file = path.join(dir, 'apache.log.gz');
    fs.writeFileSync(file, gzipSync(bytes));
    const result = await plan(file, 64, true);
    expectPlanOf(result, bytes, 64);
    expect(result.gzip).toBe(true);
  });

  it('gives an empty gzip file no batches', async () => {
    const file = path.join(dir, 'empty.log.gz');
    fs.writeFileSync(file, '');
    expect((await plan(file, 10, true)).batches).toEqual([]);
  });

  it('cuts correctly across read chunks in a file larger than several chunks', async () => {
    // ~10 MB: batches and lines straddle the 4 MiB read chunks (and the gzip inflate chunks).
    const bytes = Buffer.concat(Array.from({ length: 85 }, () => fs.readFileSync(fixture('apache-500.log'))));
    const file = path.join(dir, 'big.log');
    fs.writeFileSync(file, bytes);
    expectPlanOf(await plan(file, 7_777), bytes, 7_777);
    const gz = path.join(dir, 'big.log.gz');
    fs.writeFileSync(gz, gzipSync(bytes));
    expectPlanOf(await plan(gz, 7_777, true), bytes, 7_777);
  });

  it('gives the same ids when the same file is planned again', async () => {
    const first = await plan(fixture('apache-500.log'), 64);
    const again = await plan(fixture('apache-500.log'), 64);
    expect(again).toEqual(first);
  });

  it('gives the same content different ids in different files', async () => {
    const copy = path.join(dir, 'copy.log');
    fs.copyFileSync(fixture('apache-500.log'), copy);
    const original = await plan(fixture('apache-500.log'), 64);
    const copied = await plan(copy, 64);
    expect(copied.batches.map((b) => b.contentHash)).toEqual(original.batches.map((b) => b.contentHash));
    expect(copied.batches.some((b, i) => b.batchId === original.batches[i]?.batchId)).toBe(false);
  });

  it('rejects a batch size that is not a positive integer', async () => {
    for (const batchLines of [0, -1, 1.5, Number.NaN]) {
      const error = await rejectionOf(plan(fixture('apache-500.log'), batchLines));
      expect(error.code).toBe('E_BAD_OPTION');
    }
  });

  it('stops with E_ABORTED when its signal fires', async () => {
    const error = await rejectionOf(
      planSource(sourceOf(fixture('apache-500.log')), { format: 'lines', batchLines: 10, signal: AbortSignal.abort() }),
    );
    expect(error.code).toBe('E_ABORTED');
  });

  it('names a file that vanished before planning', async () => {
    const gone = path.join(dir, 'gone.log');
    const error = await rejectionOf(
      planSource({ path: gone, displayPath: 'gone.log', gzip: false, size: 1 }, { format: 'lines', batchLines: 5 }),
    );
    expect(error).toMatchObject({ code: 'E_INPUT_MISSING', message: "input 'gone.log' does not exist" });
  });

  it('names a corrupt gzip file', async () => {
    const file = path.join(dir, 'cut.log.gz');
    const compressed = gzipSync(fs.readFileSync(fixture('apache-500.log')));
    fs.writeFileSync(file, compressed.subarray(0, compressed.length >> 1));
    const error = await rejectionOf(plan(file, 64, true));
    expect(error.code).toBe('E_INPUT_MALFORMED');
    expect(error.message).toMatch(/^input 'cut\.log\.gz' is not valid gzip: /);
  });
});
