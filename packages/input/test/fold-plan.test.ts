import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { foldPlan, PrefixHash, planSource, type SourcePlan } from '@mrm/input';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, sourceOf } from './helpers.js';

const removals: Array<() => void> = [];
afterEach(() => {
  for (const r of removals.splice(0)) r();
});

function tempFile(): string {
  const { dir, remove } = makeTempDir();
  removals.push(remove);
  return join(dir, 'grow.log');
}

const lines = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => `line ${from + i} ${'x'.repeat((from + i) % 37)}\n`).join('');

/** Grows `file` look by look, as `--follow` does: each look's few lines become a short batch. */
async function grow(file: string, looks: number, previous?: SourcePlan): Promise<SourcePlan> {
  let plan = previous;
  for (let i = 0; i < looks; i++) {
    appendFileSync(file, lines(i * 3, 3));
    plan = await planSource(
      { ...sourceOf(file), appendOnly: true },
      { format: 'lines', batchLines: 100, previous: plan },
    );
  }
  return plan as SourcePlan;
}

describe('PrefixHash', () => {
  it('gives the same digest fed at once, in odd pieces, or resumed from a stored state', () => {
    const bytes = Buffer.from(lines(0, 5000));
    const block = 4096;
    const whole = PrefixHash.fresh(block);
    whole.update(bytes);
    const pieces = PrefixHash.fresh(block);
    for (let at = 0; at < bytes.length; at += 777) pieces.update(bytes.subarray(at, at + 777));
    expect(pieces.digest()).toBe(whole.digest());
    const half = PrefixHash.fresh(block);
    half.update(bytes.subarray(0, 50_001));
    const state = half.state();
    expect(state.through).toBe(Math.floor(50_001 / block) * block);
    const resumed = PrefixHash.resume(JSON.parse(JSON.stringify(state)));
    resumed.update(bytes.subarray(state.through));
    expect(resumed.digest()).toBe(whole.digest());
    const other = PrefixHash.fresh(block);
    other.update(Buffer.concat([bytes.subarray(0, 100), Buffer.from('y'), bytes.subarray(101)]));
    expect(other.digest()).not.toBe(whole.digest());
  });
});

describe('foldPlan', () => {
  it('folds leading batches into one entry that later plans reuse, and folds again from it', async () => {
    const file = tempFile();
    writeFileSync(file, '');
    const grown = await grow(file, 40);
    expect(grown.batches).toHaveLength(40);
    const once = await foldPlan(sourceOf(file), grown, 30);
    expect(once?.foldedIds).toEqual(grown.batches.slice(0, 30).map((b) => b.batchId));
    const folded = once?.plan as SourcePlan;
    expect(folded.batches).toHaveLength(11);
    expect(folded.batches[0]).toMatchObject({ startOffset: 0, endOffset: grown.batches[29]?.endOffset, lines: 90 });
    expect(folded.batches.slice(1)).toEqual(grown.batches.slice(30).map((b, i) => ({ ...b, ordinal: i + 1 })));

    // Following on from the folded plan keeps the folded entry and the ids after it.
    const later = await grow(file, 10, folded);
    expect(later.batches.slice(0, 11)).toEqual(folded.batches);
    expect(later.batches).toHaveLength(21);
    // A plain plan (every byte read and checked) reuses the folded entry too.
    const plain = await planSource(sourceOf(file), { format: 'lines', batchLines: 100, previous: later });
    expect(plain.batches).toEqual(later.batches);

    // Folding again resumes the prefix hash from the folded entry's state.
    const again = await foldPlan(sourceOf(file), later, 20);
    expect(again?.plan.batches[0]?.endOffset).toBe(later.batches[19]?.endOffset);
    expect(again?.foldedIds).toContain(folded.batches[0]?.batchId);
    // Its hash does not depend on where earlier folds stopped: a fresh prefix hash over the bytes.
    const fresh = PrefixHash.fresh();
    fresh.update(readFileSync(file).subarray(0, again?.plan.batches[0]?.endOffset));
    expect(again?.plan.batches[0]?.contentHash).toBe(fresh.digest());
  });

  it('folds nothing when the file no longer holds what was planned, and a plain plan then re-cuts the changed prefix', async () => {
    const file = tempFile();
    writeFileSync(file, '');
    const grown = await grow(file, 12);
    const folded = (await foldPlan(sourceOf(file), grown, 10))?.plan as SourcePlan;
    const bytes = readFileSync(file);
    bytes[5] = 0x21; // an edit inside the folded prefix, same length
    writeFileSync(file, bytes);
    expect(await foldPlan(sourceOf(file), grown, 10)).toBeUndefined();
    const plain = await planSource(sourceOf(file), { format: 'lines', batchLines: 100, previous: folded });
    expect(plain.batches[0]?.folded).toBeUndefined();
    expect(plain.batches[0]?.batchId).not.toBe(folded.batches[0]?.batchId);
  });
});
