import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildDataset, copiesFor, findCorpus } from '../src/lib/dataset.js';
import { measureChild } from '../src/lib/measure-child.js';
import { median } from '../src/lib/stats.js';
import { countDifferences } from '../src/lib/word-counts.js';
import { recomputedAt } from '../src/suites/incremental.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mrm-bench-lib-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('buildDataset', () => {
  function corpusOf(books: Record<string, string>) {
    const folder = join(dir, 'books');
    mkdirSync(folder);
    for (const [name, text] of Object.entries(books)) writeFileSync(join(folder, name), text);
    return findCorpus(dir, folder);
  }

  it('holds the corpus repeated, a newline after each book, cut into files after newlines', () => {
    // b.txt lacks a final newline: without one added, its last word would join a.txt's first.
    const corpus = corpusOf({ 'a.txt': 'one two\nthree four five\nsix\n', 'b.txt': 'seven eight\nnine' });
    const dataset = buildDataset(corpus, 3, 4, join(dir, 'cache'));
    const once = 'one two\nthree four five\nsix\nseven eight\nnine\n';
    expect(dataset.files).toHaveLength(4);
    const texts = dataset.files.map((f) => readFileSync(f, 'utf8'));
    expect(texts.join('')).toBe(once.repeat(3));
    for (const text of texts) expect(text.endsWith('\n')).toBe(true);
    expect(dataset.bytes).toBe(once.length * 3);
    expect(dataset.reused).toBe(false);
  });

  it('reuses a built dataset while its files are intact, and rebuilds one that was damaged', () => {
    const corpus = corpusOf({ 'a.txt': 'alpha beta\ngamma\n'.repeat(50) });
    const first = buildDataset(corpus, 2, 3, join(dir, 'cache'));
    expect(buildDataset(corpus, 2, 3, join(dir, 'cache')).reused).toBe(true);
    writeFileSync(first.files[1] as string, 'truncated\n');
    const rebuilt = buildDataset(corpus, 2, 3, join(dir, 'cache'));
    expect(rebuilt.reused).toBe(false);
    expect(rebuilt.files.reduce((s, f) => s + statSync(f).size, 0)).toBe(2 * 'alpha beta\ngamma\n'.length * 50);
  });

  it('rounds a size in MB to whole copies of the corpus, at least one', () => {
    expect(copiesFor(64, 16_122_891)).toBe(4);
    expect(copiesFor(512, 16_122_891)).toBe(32);
    expect(copiesFor(1, 16_122_891)).toBe(1);
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });
});

describe('countDifferences', () => {
  it('finds a changed count, a missing word and an unexpected key, and nothing when equal', () => {
    const expected = new Map([
      ['the', 3],
      ['a', 1],
    ]);
    expect(
      countDifferences(
        expected,
        new Map<unknown, unknown>([
          ['a', 1],
          ['the', 3],
        ]),
      ),
    ).toEqual([]);
    expect(
      countDifferences(
        expected,
        new Map<unknown, unknown>([
          ['the', 4],
          ['The', 1],
        ]),
      ),
    ).toEqual(['"the": 4, expected 3', 'missing "a" (expected 1)', 'unexpected key "The" = 1']);
  });
});

describe('measureChild', () => {
  const allocate = ['-e', 'const b = Buffer.alloc(200 * 2 ** 20, 1); setTimeout(() => console.log(b[7]), 300);'];

  it.each([
    ['the best method here: /usr/bin/time -v if it works', undefined],
    ['polling /proc/<pid>/status', 'proc'],
  ])('reads the peak RSS of a child that touches 200 MiB (%s)', async (_name, method) => {
    const previous = process.env.MRM_BENCH_RSS;
    if (method !== undefined) process.env.MRM_BENCH_RSS = method;
    try {
      const m = await measureChild(process.execPath, allocate);
      expect(m.code).toBe(0);
      expect(m.stdout.trim()).toBe('1');
      expect(m.peakRssBytes).toBeGreaterThan(200 * 2 ** 20);
      expect(m.peakRssBytes).toBeLessThan(600 * 2 ** 20);
      expect(m.wallMs).toBeGreaterThanOrEqual(300);
      // The buffer is anonymous memory; polling finds the node process even under /usr/bin/time.
      expect(m.peakRssAnonBytes).toBeGreaterThan(200 * 2 ** 20);
      expect(m.peakRssFileBytes).toBeGreaterThan(0);
    } finally {
      if (previous === undefined) delete process.env.MRM_BENCH_RSS;
      else process.env.MRM_BENCH_RSS = previous;
    }
  });
});

describe('recomputedAt (incremental suite)', () => {
  it('runs the full recomputes where the figures, the checks and the chart need them, and nowhere else', () => {
    const at = Array.from({ length: 51 }, (_, i) => i + 1).filter((n) => recomputedAt(n, 51, 5));
    expect(at).toEqual([1, 2, 3, 4, 5, 6, 10, 20, 25, 30, 40, 47, 48, 49, 50, 51]);
  });

  it('runs them at every increment of a short run', () => {
    expect([1, 2, 3, 4].every((n) => recomputedAt(n, 4, 2))).toBe(true);
  });
});
