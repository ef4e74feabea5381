/**
 * Zipf-distributed keys from a fixed seed, for skew tests and benchmarks: rank `r` (1-based, of
 * `n`) is drawn with probability proportional to `1 / r^exponent`, so a few keys carry most
 * records, as real logs do.
 */

/** A deterministic 32-bit generator (mulberry32) giving floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws ranks 1..n from Zipf(exponent) with a seeded generator. */
export function zipfSampler(n: number, exponent: number, seed: number): () => number {
  const cumulative = new Float64Array(n);
  let sum = 0;
  for (let r = 1; r <= n; r++) {
    sum += 1 / r ** exponent;
    cumulative[r - 1] = sum;
  }
  const random = seededRandom(seed);
  return () => {
    const x = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}

/**
 * `lines` lines of `key<rank> <item>`: keys Zipf-distributed over `keys` ranks, items uniform in
 * 0..items-1 (the values a set-union job collects).
 */
export function zipfLines(options: {
  readonly lines: number;
  readonly keys: number;
  readonly exponent: number;
  readonly seed: number;
  readonly items?: number;
}): string {
  const draw = zipfSampler(options.keys, options.exponent, options.seed);
  const random = seededRandom(options.seed ^ 0x9e3779b9);
  const items = options.items ?? 100;
  const out: string[] = new Array(options.lines);
  for (let i = 0; i < options.lines; i++) out[i] = `key${draw()} ${Math.floor(random() * items)}`;
  return `${out.join('\n')}\n`;
}
