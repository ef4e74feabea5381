import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expandInputs, planSource, type SourcePlan } from '@mrm/input';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectedBatches, expectedBatchId, makeTempDir, shapeOf } from './helpers.js';

/** Short enough for tests; files are written and then left alone for longer than this. */
const MARGIN_MS = 40;
const settle = () => sleep(MARGIN_MS * 3);

const lines = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `line ${from + i} ${'x'.repeat((from + i) % 13)}\n`).join('');

async function planOf(file: string, previous?: SourcePlan, racyMarginMs = MARGIN_MS): Promise<SourcePlan> {
  const [source] = await expandInputs([file]);
  if (source === undefined) throw new Error('no source');
  return planSource(source, {
    format: 'lines',
    batchLines: 10,
    racyMarginMs,
    ...(previous !== undefined ? { previous } : {}),
  });
}

/** The plan a fresh read of the file gives, against `previous` (the growth rule), as the planner must. */
function expectExactPlan(plan: SourcePlan, file: string): void {
  const bytes = fs.readFileSync(file);
  const expected = expectedBatches(bytes, 10);
  expect(shapeOf(plan.batches)).toEqual(expected);
  expect(plan.batches.map((b) => b.batchId)).toEqual(
    expected.map((b) => expectedBatchId(plan.path, b.startOffset, b.contentHash)),
  );
}

describe('planSource with file stamps (decisions/0032)', () => {
  let dir: string;
  let remove: () => void;
  beforeEach(() => ({ dir, remove } = makeTempDir()));
  afterEach(() => remove());

  it('takes the stored plan without reading when the stamp is unchanged', async () => {
    const file = path.join(dir, 'a.log');
    fs.writeFileSync(file, lines(0, 35));
    await settle();
    const first = await planOf(file);
    expect(first.stamp).toBeDefined();
    expectExactPlan(first, file);
    const again = await planOf(file, first);
    // The very object: nothing was read, nothing is stored again.
    expect(again).toBe(first);
  });

  it('keeps no stamp for a file changed within the racy margin, and reads it again next time', async () => {
    const file = path.join(dir, 'a.log');
    fs.writeFileSync(file, lines(0, 35));
    const racy = await planOf(file, undefined, 60_000);
    expect(racy.stamp).toBeUndefined();
    const again = await planOf(file, racy, 60_000);
    expect(again).not.toBe(racy);
    expect(again.batches).toEqual(racy.batches);
    expectExactPlan(again, file);
  });

  it('reads an appended file again: old batches keep their ids, the new lines get new batches', async () => {
    const file = path.join(dir, 'a.log');
    fs.writeFileSync(file, lines(0, 35));
    await settle();
    const first = await planOf(file);
    fs.appendFileSync(file, lines(35, 58));
    const grown = await planOf(file, first);
    expect(grown).not.toBe(first);
    // The partial last batch (lines 30–34) is reused as it was; the appended lines follow it.
    expect(grown.batches.slice(0, 4)).toEqual(first.batches);
    const appended = expectedBatches(fs.readFileSync(file), 10, first.size, 36);
    expect(shapeOf(grown.batches.slice(4))).toEqual(appended);
    expect(appended).toHaveLength(3);
  });

  it('sees a same-size rewrite whose modification time was put back (ctime moves)', async () => {
    const file = path.join(dir, 'a.log');
    fs.writeFileSync(file, lines(0, 35));
    const { atime, mtime } = fs.statSync(file);
    await settle();
    const first = await planOf(file);
    expect(first.stamp).toBeDefined();
    // Same length, one byte different in the third batch, times restored.
    const text = fs.readFileSync(file, 'utf8');
    const at = text.indexOf('line 25 ');
    fs.writeFileSync(file, `${text.slice(0, at)}LINE${text.slice(at + 4)}`);
    fs.utimesSync(file, atime, mtime);
    expect(fs.statSync(file).size).toBe(text.length);
    await settle();
    const rewritten = await planOf(file, first);
    expect(rewritten).not.toBe(first);
    expectExactPlan(rewritten, file);
    expect(rewritten.batches.slice(0, 2)).toEqual(first.batches.slice(0, 2));
    expect(rewritten.batches[2]?.batchId).not.toBe(first.batches[2]?.batchId);
  });

  it('reads a file replaced by another with the same content and times (new inode) again', async () => {
    const file = path.join(dir, 'a.log');
    fs.writeFileSync(file, lines(0, 35));
    await settle();
    const first = await planOf(file);
    const { atime, mtime } = fs.statSync(file);
    const next = path.join(dir, 'next.tmp');
    fs.writeFileSync(next, lines(0, 35));
    fs.utimesSync(next, atime, mtime);
    fs.renameSync(next, file);
    await settle();
    const replaced = await planOf(file, first);
    expect(replaced).not.toBe(first);
    expect(replaced.batches).toEqual(first.batches);
  });

  it('reads a deleted and recreated file again, and a file changed after it was found', async () => {
    const file = path.join(dir, 'a.log');
    fs.writeFileSync(file, lines(0, 35));
    await settle();
    const first = await planOf(file);
    fs.rmSync(file);
    fs.writeFileSync(file, lines(100, 120));
    await settle();
    const recreated = await planOf(file, first);
    expect(recreated).not.toBe(first);
    expectExactPlan(recreated, file);

    // Found (stamped), then appended to before it is read: the plan has the new line but no
    // stamp (the stamp from before the read would not describe what was read).
    const [source] = await expandInputs([file]);
    if (source === undefined) throw new Error('no source');
    fs.appendFileSync(file, 'one more\n');
    const changed = await planSource(source, { format: 'lines', batchLines: 10, racyMarginMs: MARGIN_MS });
    expect(changed.stamp).toBeUndefined();
    expectExactPlan(changed, file);
    // Planned again, it is read again (and now stamped).
    await settle();
    const next = await planOf(file, changed);
    expect(next).not.toBe(changed);
    expect(next.stamp).toBeDefined();
    expectExactPlan(next, file);
  });

  it('ignores a malformed stored stamp', async () => {
    const file = path.join(dir, 'a.log');
    fs.writeFileSync(file, lines(0, 35));
    await settle();
    const first = await planOf(file);
    const damaged = { ...first, stamp: { ...first.stamp, ino: 'seven' } } as unknown as SourcePlan;
    const again = await planOf(file, damaged);
    expect(again).not.toBe(damaged);
    expect(again.batches).toEqual(first.batches);
    expect(again.stamp).toEqual({ ...first.stamp, takenAtMs: again.stamp?.takenAtMs });
  });
});
