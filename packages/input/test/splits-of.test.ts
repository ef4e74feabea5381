import { type PlannedBatch, type SourcePlan, splitsOf } from '@mrm/input';
import { describe, expect, it } from 'vitest';

/** A plan of `count` batches of 10 lines and 100 bytes each. */
function planOf(count: number, gzip = false): SourcePlan {
  const batches: PlannedBatch[] = Array.from({ length: count }, (_, i) => ({
    ordinal: i,
    batchId: `id-${i}`,
    startOffset: i * 100,
    endOffset: (i + 1) * 100,
    firstLine: i * 10 + 1,
    lines: 10,
    contentHash: `hash-${i}`,
  }));
  return {
    path: '/data/access.log',
    identity: '/data/access.log',
    location: '/data/access.log',
    displayPath: 'access.log',
    gzip,
    format: 'lines',
    size: count * 100,
    lines: count * 10,
    batchLines: 10,
    batches,
  };
}

const shape = (plan: SourcePlan, firstSeq: number, options?: Parameters<typeof splitsOf>[2]) =>
  splitsOf(plan, firstSeq, options).map((s) => ({
    startOffset: s.startOffset,
    firstLine: s.firstLine,
    seqs: s.batches.map((b) => b.seq),
    ids: s.batches.map((b) => b.batchId),
  }));

describe('splitsOf', () => {
  it('makes one split per batch of a plain file, numbered from firstSeq', () => {
    const splits = splitsOf(planOf(3), 7);
    expect(splits).toEqual(
      [0, 1, 2].map((i) => ({
        path: '/data/access.log',
        displayPath: 'access.log',
        format: 'lines',
        gzip: false,
        startOffset: i * 100,
        firstLine: i * 10 + 1,
        batches: [{ seq: 7 + i, batchId: `id-${i}`, endOffset: (i + 1) * 100, lines: 10 }],
      })),
    );
  });

  it('groups batchesPerSplit consecutive batches', () => {
    expect(shape(planOf(5), 0, { batchesPerSplit: 2 })).toEqual([
      { startOffset: 0, firstLine: 1, seqs: [0, 1], ids: ['id-0', 'id-1'] },
      { startOffset: 200, firstLine: 21, seqs: [2, 3], ids: ['id-2', 'id-3'] },
      { startOffset: 400, firstLine: 41, seqs: [4], ids: ['id-4'] },
    ]);
  });

  it('makes one split of a whole gzip file', () => {
    expect(shape(planOf(4, true), 3)).toEqual([
      { startOffset: 0, firstLine: 1, seqs: [3, 4, 5, 6], ids: ['id-0', 'id-1', 'id-2', 'id-3'] },
    ]);
  });

  it('numbers only the chosen batches and never groups across a batch left out', () => {
    const only = new Set(['id-1', 'id-2', 'id-4']);
    expect(shape(planOf(5), 10, { only, batchesPerSplit: 10 })).toEqual([
      { startOffset: 100, firstLine: 11, seqs: [10, 11], ids: ['id-1', 'id-2'] },
      { startOffset: 400, firstLine: 41, seqs: [12], ids: ['id-4'] },
    ]);
    expect(shape(planOf(5, true), 0, { only })).toEqual([
      { startOffset: 100, firstLine: 11, seqs: [0, 1], ids: ['id-1', 'id-2'] },
      { startOffset: 400, firstLine: 41, seqs: [2], ids: ['id-4'] },
    ]);
  });

  it('returns no splits when no batch is chosen', () => {
    expect(splitsOf(planOf(3), 0, { only: new Set() })).toEqual([]);
  });

  it('starts a new split at a batch that continues a torn line', () => {
    const plan = planOf(3, true);
    const torn = plan.batches.map((b, i) => (i === 2 ? { ...b, firstLine: b.firstLine - 1 } : b));
    expect(shape({ ...plan, batches: torn }, 0).map((s) => s.firstLine)).toEqual([1, 20]);
  });

  it('rejects a batchesPerSplit that is not a positive integer', () => {
    for (const batchesPerSplit of [0, -2, 1.5, Number.NaN]) {
      expect(() => splitsOf(planOf(2), 0, { batchesPerSplit })).toThrow(
        expect.objectContaining({ code: 'E_BAD_OPTION' }),
      );
    }
  });
});
