import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { planSource, readSplitBatches, type SourcePlan, splitsOf } from '@mrm/input';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture, makeTempDir, readAll, rejectionOf, sourceOf } from './helpers.js';

const sample = fs.readFileSync(fixture('apache-500.log'));

/** The texts a plan's batches should read as: the file's bytes cut at the planned offsets. */
const textsOf = (plan: SourcePlan, bytes: Buffer) =>
  plan.batches.map((b) => bytes.toString('utf8', b.startOffset, b.endOffset));

const fail = (): never => {
  throw new Error('no split');
};

describe('readSplitBatches', () => {
  let dir: string;
  let remove: () => void;
  beforeEach(() => ({ dir, remove } = makeTempDir()));
  afterEach(() => remove());

  const plan = (file: string, batchLines: number, gzip = false) =>
    planSource(sourceOf(file, gzip), { format: 'lines', batchLines });

  it('reads the batches of a plain file so that together they are the file', async () => {
    const result = await plan(fixture('apache-500.log'), 64);
    const { texts, firstLines } = await readAll(splitsOf(result, 0));
    expect(texts.join('')).toBe(sample.toString('utf8'));
    expect(texts).toEqual(textsOf(result, sample));
    expect(firstLines).toEqual(result.batches.map((b) => b.firstLine));
  });

  it('reads splits of several batches', async () => {
    const result = await plan(fixture('apache-500.log'), 30);
    const splits = splitsOf(result, 0, { batchesPerSplit: 4 });
    expect(splits.length).toBe(5);
    const { texts, firstLines } = await readAll(splits);
    expect(texts).toEqual(textsOf(result, sample));
    expect(firstLines).toEqual(result.batches.map((b) => b.firstLine));
  });

  it('yields each batch with its slice', async () => {
    const result = await plan(fixture('apache-500.log'), 200);
    const [split] = splitsOf(result, 5, { batchesPerSplit: 3 });
    if (split === undefined) throw new Error('no split');
    const slices = [];
    for await (const batch of readSplitBatches(split)) slices.push(batch.slice);
    expect(slices).toEqual(split.batches);
    expect(slices.map((s) => s.seq)).toEqual([5, 6, 7]);
  });

  it('reads a gzip split, also one that starts in the middle of the file', async () => {
    const file = path.join(dir, 'apache.log.gz');
    fs.writeFileSync(file, gzipSync(sample));
    const result = await plan(file, 64, true);
    const whole = await readAll(splitsOf(result, 0));
    expect(whole.texts.join('')).toBe(sample.toString('utf8'));
    const later = new Set(result.batches.slice(5).map((b) => b.batchId));
    const tail = await readAll(splitsOf(result, 0, { only: later }));
    expect(tail.texts).toEqual(textsOf(result, sample).slice(5));
    expect(tail.firstLines).toEqual(result.batches.slice(5).map((b) => b.firstLine));
  });

  it('reads batches that span read chunks, plain and gzip', async () => {
    const big = Buffer.concat(Array.from({ length: 85 }, () => sample));
    const file = path.join(dir, 'big.log');
    fs.writeFileSync(file, big);
    fs.writeFileSync(`${file}.gz`, gzipSync(big));
    for (const [name, gzip] of [
      [file, false],
      [`${file}.gz`, true],
    ] as const) {
      const result = await plan(name, 9_999, gzip);
      const { texts } = await readAll(splitsOf(result, 0, { batchesPerSplit: 2 }));
      expect(texts).toEqual(textsOf(result, big));
    }
  });

  it('gives splits read side by side their own bytes (batch buffers are reused, never shared)', async () => {
    // Four files whose batches differ in size, read turn by turn with their reads in flight at
    // once: a buffer reused while another read still fills it would mix their bytes.
    const files = [1, 2, 3, 4].map((n) => {
      const file = path.join(dir, `f${n}.log`);
      const bytes = Buffer.concat(Array.from({ length: 4 * n }, () => sample));
      fs.writeFileSync(file, bytes);
      return { file, bytes, batchLines: 100 * n };
    });
    const plans = await Promise.all(files.map((f) => plan(f.file, f.batchLines)));
    const readers = plans.map((p) => readSplitBatches(splitsOf(p, 0, { batchesPerSplit: 1000 })[0] ?? fail()));
    const texts: string[][] = readers.map(() => []);
    for (let open = readers.length; open > 0; ) {
      const steps = await Promise.all(readers.map((r) => r.next()));
      open = 0;
      steps.forEach((step, i) => {
        if (step.done !== true) {
          texts[i]?.push(step.value.text);
          open++;
        }
      });
    }
    expect(texts).toEqual(plans.map((p, i) => textsOf(p, files[i]?.bytes ?? Buffer.alloc(0))));
  });

  it('fails with E_INPUT_MISSING when the file shrank after planning', async () => {
    const file = path.join(dir, 'access.log');
    fs.writeFileSync(file, sample);
    const result = await plan(file, 64);
    fs.writeFileSync(file, sample.subarray(0, 1000));
    const error = await rejectionOf(readAll(splitsOf(result, 0, { batchesPerSplit: 100 })));
    expect(error.code).toBe('E_INPUT_MISSING');
    expect(error.message).toMatch(/^input 'access\.log' ends before offset \d+: it changed after it was planned$/);
  });

  it('fails with E_INPUT_MISSING when the file is gone', async () => {
    const file = path.join(dir, 'access.log');
    fs.writeFileSync(file, sample);
    const result = await plan(file, 64);
    fs.rmSync(file);
    const error = await rejectionOf(readAll(splitsOf(result, 0)));
    expect(error).toMatchObject({ code: 'E_INPUT_MISSING', message: "input 'access.log' does not exist" });
  });

  it('stops with E_ABORTED when its signal fires', async () => {
    const result = await plan(fixture('apache-500.log'), 64);
    const [split] = splitsOf(result, 0);
    if (split === undefined) throw new Error('no split');
    const error = await rejectionOf(
      (async () => {
        for await (const _ of readSplitBatches(split, AbortSignal.abort())) {
          // nothing: the first read must already refuse
        }
      })(),
    );
    expect(error.code).toBe('E_ABORTED');
  });
});
