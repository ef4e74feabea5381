/** Percentiles of latency samples (the latency suite's p50/p90/p99/max). */

/**
 * The `p`-th percentile (0–100) of `values` by the nearest-rank method: the smallest value that
 * at least `p`% of the values are at or below. It is always one of the samples (no interpolation),
 * so a p99 over 200 batches is the second-largest, and over 100 or fewer it is the maximum.
 * Null for no values.
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0–100, got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

/** p50, p90, p99 and the maximum of `values`, with their count. */
export interface Percentiles {
  readonly count: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

/** The {@link Percentiles} of `values`. */
export function percentilesOf(values: readonly number[]): Percentiles {
  return {
    count: values.length,
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    max: percentile(values, 100),
  };
}
