/** Small statistics for benchmark samples. */

/** The median of `values` (mean of the middle two for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] as number) + upper) / 2;
}

/** The median of the non-null values; null when there are none. */
export function medianOf(values: ReadonlyArray<number | null>): number | null {
  return median(values.filter((v): v is number => v !== null));
}

/** `x` rounded to `digits` decimals (for JSON that people read). */
export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
