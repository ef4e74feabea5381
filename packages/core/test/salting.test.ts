/**
 * The salting vocabulary: the job spec's `salt` field and `--salt`, sub-key spelling and
 * placement, the hot-key factor, the heavy-key table, and the associativity check that decides
 * whether a user's own functions may be salted.
 */
import { describe, expect, it } from 'vitest';
import {
  aggregates,
  checkAssociative,
  declaresAssociative,
  HeavyKeys,
  hotFactor,
  isSubKey,
  parseSaltOption,
  parseSubKey,
  resolveJob,
  resolveSaltSetting,
  subKey,
  subKeyPartition,
} from '../src/index.js';

describe('the salt setting', () => {
  it("defaults to 'auto' and accepts false and { factor, keys }", () => {
    expect(resolveSaltSetting(undefined)).toEqual({ mode: 'auto' });
    expect(resolveSaltSetting(false)).toEqual({ mode: 'off' });
    expect(resolveSaltSetting({ factor: 4, keys: ['a', ['b', 1]] })).toEqual({
      mode: 'fixed',
      factor: 4,
      keys: ['"a"', '["b",1]'],
    });
  });

  it('rejects bad values in one line naming the job', () => {
    expect(() => resolveSaltSetting({ factor: 1 }, 'job.ts')).toThrow(
      /job.ts: salt factor must be an integer from 2 to 64/,
    );
    expect(() => resolveSaltSetting({ factor: 4, kyes: [] }, 'job.ts')).toThrow(/unknown field 'kyes'/);
    expect(() => resolveSaltSetting('yes', 'job.ts')).toThrow(/must be 'auto', false or \{ factor, keys\? \}/);
    expect(() => resolveSaltSetting({ factor: 4, keys: [{}] }, 'job.ts')).toThrow(/keys: /);
    expect(() => resolveJob({ name: 'j', map() {}, reduce: () => 0, salt: { factor: 100 } }, 'job.ts')).toThrow(
      /job.ts: job 'j': salt factor/,
    );
  });

  it('parses --salt', () => {
    expect(parseSaltOption('auto')).toEqual({ mode: 'auto' });
    expect(parseSaltOption('off')).toEqual({ mode: 'off' });
    expect(parseSaltOption('8')).toEqual({ mode: 'fixed', factor: 8 });
    for (const bad of ['1', '65', 'x', '2.5', '']) expect(() => parseSaltOption(bad)).toThrow(/--salt must be/);
  });
});

describe('sub-keys', () => {
  it('are spelled apart from every canonical key and parse back', () => {
    const w = subKey('["a",1]', 7);
    expect(isSubKey(w)).toBe(true);
    expect(isSubKey('"a"')).toBe(false);
    expect(parseSubKey(w)).toEqual({ home: 7, canonical: '["a",1]' });
  });

  it('sit on the partitions after the home partition, never on it', () => {
    const parts = Array.from({ length: 15 }, (_, s) => subKeyPartition(14, s, 16));
    expect(parts).toEqual([15, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  });

  it('get a factor from their share, in whole rounds over the merge workers', () => {
    expect(hotFactor(0.01, 16, 4)).toBe(0);
    expect(hotFactor(0.2, 16, 4)).toBe(8);
    expect(hotFactor(0.05, 16, 4)).toBe(4);
    expect(hotFactor(0.9, 16, 4)).toBe(15);
    expect(hotFactor(0.2, 16, 4, 3)).toBe(3);
    // Two partitions leave room for one sub-key only: not worth salting.
    expect(hotFactor(0.5, 2, 1)).toBe(2);
  });
});

describe('the heavy-key table', () => {
  it('keeps the heaviest keys within its capacity', () => {
    const h = new HeavyKeys(3);
    for (let i = 0; i < 50; i++) h.add(`"k${i}"`, 2);
    h.add('"hot"', 500);
    h.add('"one"', 1);
    expect(h.total).toBe(50 * 2 + 500 + 1);
    const flat = h.toFlat();
    expect(flat[0]).toBe('"hot"');
    expect(flat.length).toBe(6);
  });
});

describe('the associativity check', () => {
  const sum = { reduce: (_k: unknown, vs: number[]) => vs.reduce((a, b) => a + b, 0) };
  const values = Array.from({ length: 30 }, (_, i) => (i % 7) + 1);

  it('passes a merge that adds', () => {
    expect(
      checkAssociative({ ...sum, merge: (_k, p: number | undefined, n: number) => (p ?? 0) + n }, 'k', values),
    ).toEqual({
      ok: true,
    });
  });

  it('fails a merge that keeps the last value, or subtracts', () => {
    const last = checkAssociative({ ...sum, merge: (_k, _p: number | undefined, n: number) => n }, 'k', values);
    expect(last?.ok).toBe(false);
    const diff = checkAssociative(
      { ...sum, merge: (_k, p: number | undefined, n: number) => n - (p ?? 0) },
      'k',
      values,
    );
    expect(diff?.ok).toBe(false);
    const firstThenMinus = checkAssociative(
      { ...sum, merge: (_k, p: number | undefined, n: number) => (p === undefined ? n : p - n) },
      'k',
      values,
    );
    expect(firstThenMinus?.ok).toBe(false);
  });

  it('passes a merge that subtracts every batch from zero (a sum of negatives: salting is exact)', () => {
    const minus = checkAssociative(
      { ...sum, merge: (_k, p: number | undefined, n: number) => (p ?? 0) - n },
      'k',
      values,
    );
    expect(minus).toEqual({ ok: true });
  });

  it('fails a merge whose state depends on order (a list in arrival order)', () => {
    const list = {
      reduce: (_k: unknown, vs: number[]) => vs,
      merge: (_k: unknown, p: number[] | undefined, n: number[]) => [...(p ?? []), ...n],
    };
    expect(checkAssociative(list, 'k', values)?.ok).toBe(false);
  });

  it('cannot tell from fewer than three values', () => {
    expect(
      checkAssociative({ ...sum, merge: (_k, p: number | undefined, n: number) => (p ?? 0) + n }, 'k', [1, 2]),
    ).toBe(undefined);
  });

  it('is not fooled by a merge that updates its state in place', () => {
    const inPlace = {
      reduce: (_k: unknown, vs: number[]) => ({ n: vs.length }),
      merge: (_k: unknown, p: { n: number } | undefined, n: { n: number }) => {
        if (p === undefined) return n;
        p.n += n.n;
        return p;
      },
    };
    expect(checkAssociative(inPlace, 'k', values)).toEqual({ ok: true });
  });

  it('is declared by the built-in aggregates, and not by a user function', () => {
    expect(declaresAssociative(aggregates.sum())).toBe(true);
    expect(declaresAssociative(aggregates.distinct({ values: true }))).toBe(true);
    expect(declaresAssociative({ ...aggregates.sum(), merge: (_k, _p, n) => n })).toBe(false);
  });
});
