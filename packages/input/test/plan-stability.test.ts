import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { type PlannedBatch, planSource, type SourcePlan } from '@mrm/input';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectedBatches, fixture, makeTempDir, shapeOf, sourceOf } from './helpers.js';

const sample = fs.readFileSync(fixture('apache-500.log'));

/** Byte offset where line `n` (1-based) of `bytes` starts. */
function lineStart(bytes: Buffer, n: number): number {
  let at = 0;
  for (let line = 1; line < n; line++) at = bytes.indexOf(10, at) + 1;
  return at;
}

const ids = (batches: readonly PlannedBatch[]) => batches.map((b) => b.batchId);

describe('planSource with a previous plan', () => {
  let dir: string;
  let remove: () => void;
  let file: string;
  beforeEach(() => {
    ({ dir, remove } = makeTempDir());
    file = path.join(dir, 'access.log');
  });
  afterEach(() => remove());

  const plan = (batchLines: number, previous?: SourcePlan, gzip = false) =>
    planSource(sourceOf(file, gzip), { format: 'lines', batchLines, previous });

  it('reuses every batch of an unchanged file', async () => {
    fs.writeFileSync(file, sample);
    const first = await plan(64);
    const again = await plan(64, first);
    expect(again).toEqual(first);
  });

  it('keeps the old boundaries and ids when only batchLines changed', async () => {
    fs.writeFileSync(file, sample);
    const first = await plan(64);
    const again = await plan(100, first);
    expect(again.batches).toEqual(first.batches);
    expect(again.batchLines).toBe(100);
  });

  it('keeps the ids of a grown file, its partial last batch included, and cuts new ones after', async () => {
    const firstPart = sample.subarray(0, lineStart(sample, 301));
    fs.writeFileSync(file, firstPart);
    const first = await plan(64);
    expect(first.batches.map((b) => b.lines)).toEqual([64, 64, 64, 64, 44]);

    fs.appendFileSync(file, sample.subarray(firstPart.length));
    const grown = await plan(64, first);
    expect(grown.batches.slice(0, 5)).toEqual(first.batches);
    const appended = grown.batches.slice(5);
    expect(shapeOf(appended)).toEqual(expectedBatches(sample, 64, firstPart.length, 301));
    expect(appended.map((b) => b.ordinal)).toEqual([5, 6, 7, 8]);
    expect(appended.some((b) => ids(first.batches).includes(b.batchId))).toBe(false);
    expect(grown).toMatchObject({ lines: 500, size: sample.length });
  });

  it('keeps the ids of a gzip file that grew by another gzip member', async () => {
    const firstPart = sample.subarray(0, lineStart(sample, 301));
    fs.writeFileSync(file, gzipSync(firstPart));
    const first = await plan(64, undefined, true);
    fs.appendFileSync(file, gzipSync(sample.subarray(firstPart.length)));
    const grown = await plan(64, first, true);
    expect(grown.batches.slice(0, 5)).toEqual(first.batches);
    expect(shapeOf(grown.batches.slice(5))).toEqual(expectedBatches(sample, 64, firstPart.length, 301));
  });

  it('gives new ids from the batch with an edit that changes the length of the file', async () => {
    fs.writeFileSync(file, sample);
    const first = await plan(64);
    const at = lineStart(sample, 150) + 5; // line 150 lies in the third batch (lines 129–192)
    const edited = Buffer.concat([sample.subarray(0, at), Buffer.from('EDIT'), sample.subarray(at)]);
    fs.writeFileSync(file, edited);
    const again = await plan(64, first);
    expect(again.batches.slice(0, 2)).toEqual(first.batches.slice(0, 2));
    expect(shapeOf(again.batches)).toEqual(expectedBatches(edited, 64));
    const old = ids(first.batches);
    expect(again.batches.slice(2).filter((b) => old.includes(b.batchId))).toEqual([]);
  });

  it('changes only the id of the edited batch after an edit of the same length', async () => {
    fs.writeFileSync(file, sample);
    const first = await plan(64);
    const edited = Buffer.from(sample);
    edited[lineStart(sample, 150)] = 'X'.charCodeAt(0);
    fs.writeFileSync(file, edited);
    const again = await plan(64, first);
    // Same bytes at the same offsets of the same file are the same batch: ids follow content.
    const changed = again.batches.filter((b, i) => b.batchId !== first.batches[i]?.batchId);
    expect(changed.map((b) => b.ordinal)).toEqual([2]);
  });

  it('cuts fresh batches of the new size from the first mismatch', async () => {
    fs.writeFileSync(file, sample);
    const first = await plan(64);
    const edited = Buffer.from(sample);
    edited[lineStart(sample, 150)] = 'X'.charCodeAt(0);
    fs.writeFileSync(file, edited);
    const again = await plan(100, first);
    expect(again.batches.slice(0, 2)).toEqual(first.batches.slice(0, 2));
    const from = first.batches[2]?.startOffset ?? -1;
    expect(shapeOf(again.batches.slice(2))).toEqual(expectedBatches(edited, 100, from, 129));
    expect(again.batches.map((b) => b.lines)).toEqual([64, 64, 100, 100, 100, 72]);
  });

  it('cuts fresh batches where a file was truncated inside a previous batch', async () => {
    fs.writeFileSync(file, sample);
    const first = await plan(64);
    const truncated = sample.subarray(0, lineStart(sample, 101));
    fs.writeFileSync(file, truncated);
    const again = await plan(64, first);
    expect(again.batches[0]).toEqual(first.batches[0]);
    expect(shapeOf(again.batches)).toEqual(expectedBatches(truncated, 64));
    expect(again.batches[1]?.batchId).not.toBe(first.batches[1]?.batchId);
    expect(again.lines).toBe(100);
  });

  it('recovers from a mismatch inside a previous batch that spans several read chunks', async () => {
    const big = Buffer.concat(Array.from({ length: 85 }, () => sample)); // ~10 MB, 42,500 lines
    fs.writeFileSync(file, big);
    const first = await plan(20_000);
    const edited = Buffer.from(big);
    edited[lineStart(big, 30_000)] = 'X'.charCodeAt(0);
    fs.writeFileSync(file, edited);
    const again = await plan(7_000, first);
    expect(again.batches[0]).toEqual(first.batches[0]);
    expect(shapeOf(again.batches.slice(1))).toEqual(
      expectedBatches(edited, 7_000, first.batches[0]?.endOffset, 20_001),
    );
  });

  it('reuses a batch caught in the middle of a line and numbers the rest of that line as the same line', async () => {
    const text = fs.readFileSync(fixture('frankenstein-no-final-newline.txt'));
    const cut = lineStart(text, 25) + 10; // ten bytes into line 25
    fs.writeFileSync(file, text.subarray(0, cut));
    const first = await plan(10);
    expect(first.batches.map((b) => [b.firstLine, b.lines])).toEqual([
      [1, 10],
      [11, 10],
      [21, 5],
    ]);
    fs.writeFileSync(file, Buffer.concat([text, Buffer.from('\nnext line\n')]));
    const again = await plan(10, first);
    expect(again.batches.slice(0, 3)).toEqual(first.batches);
    expect(again.batches[3]).toMatchObject({ startOffset: cut, firstLine: 25, lines: 2 });
    expect(again.lines).toBe(26);
  });

  it('ignores a previous plan of another path', async () => {
    fs.writeFileSync(file, sample);
    const other = await planSource(sourceOf(fixture('apache-500.log')), { format: 'lines', batchLines: 64 });
    const result = await plan(100, other);
    expect(shapeOf(result.batches)).toEqual(expectedBatches(sample, 100));
  });

  it('stops reusing where a stored plan is malformed', async () => {
    fs.writeFileSync(file, sample);
    const first = await plan(64);
    const broken: SourcePlan = {
      ...first,
      batches: first.batches.map((b, i) => (i === 3 ? { ...b, startOffset: b.startOffset + 1 } : b)),
    };
    const again = await plan(100, broken);
    expect(again.batches.slice(0, 3)).toEqual(first.batches.slice(0, 3));
    const from = first.batches[3]?.startOffset;
    expect(shapeOf(again.batches.slice(3))).toEqual(expectedBatches(sample, 100, from, 193));
  });

  describe('of an append-only source (a followed file)', () => {
    const appendOnly = (previous: SourcePlan, batchLines = 64) =>
      planSource({ ...sourceOf(file), appendOnly: true }, { format: 'lines', batchLines, previous });

    it('plans a grown file exactly as a full planning does', async () => {
      const firstPart = sample.subarray(0, lineStart(sample, 301));
      fs.writeFileSync(file, firstPart);
      const first = await plan(64);
      fs.appendFileSync(file, sample.subarray(firstPart.length));
      expect(await appendOnly(first)).toEqual(await plan(64, first));
    });

    it('keeps line numbers after a previous batch that ended inside a line', async () => {
      const torn = sample.subarray(0, lineStart(sample, 201) + 10); // line 200 caught mid-write
      fs.writeFileSync(file, torn);
      const first = await plan(64);
      fs.appendFileSync(file, sample.subarray(torn.length));
      const grown = await plan(64, first);
      // Grow it again: the torn batch is now among the trusted ones.
      fs.appendFileSync(file, sample);
      expect(await appendOnly(grown)).toEqual(await plan(64, grown));
    });

    it('does not read the batches it trusts, but checks the last one', async () => {
      fs.writeFileSync(file, sample);
      const first = await plan(64);
      // Rewrite a byte of the first batch in place: a full planning sees it, append-only does not.
      const edited = Buffer.from(sample);
      edited[10] = edited[10] === 0x41 ? 0x42 : 0x41;
      fs.writeFileSync(file, Buffer.concat([edited, sample]));
      const trusting = await appendOnly(first);
      expect(trusting.batches.slice(0, first.batches.length)).toEqual(first.batches);
      expect((await plan(64, first)).batches[0]?.batchId).not.toBe(first.batches[0]?.batchId);
      // A change in the last previous batch (truncated and written again) is seen: fresh batches from there.
      const lastStart = first.batches.at(-1)?.startOffset ?? 0;
      const rewritten = Buffer.from(sample);
      rewritten[lastStart + 1] = rewritten[lastStart + 1] === 0x41 ? 0x42 : 0x41;
      fs.writeFileSync(file, Buffer.concat([rewritten, sample]));
      const checked = await appendOnly(first);
      expect(ids(checked.batches)).not.toContain(first.batches.at(-1)?.batchId);
      expect(checked.batches.slice(0, -1).length).toBeGreaterThan(0);
    });

    it('plans a truncated file from the start', async () => {
      fs.writeFileSync(file, sample);
      const first = await plan(64);
      fs.writeFileSync(file, sample.subarray(0, lineStart(sample, 101)));
      expect(await appendOnly(first)).toEqual(await plan(64, first));
    });
  });
});
