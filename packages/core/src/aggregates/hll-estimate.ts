/**
 * The cardinality estimate of a HyperLogLog sketch: Ertl's improved estimator ("New cardinality
 * estimation algorithms for HyperLogLog sketches", 2017). It corrects the raw estimate's bias at
 * small and mid cardinalities (where the classic estimator switches to linear counting and needs
 * empirical bias tables) from the register histogram alone; with 64-bit hashes no large-range
 * correction is needed.
 */
import { checkHeader, DENSE, HEADER_BYTES, sparseCount } from './hll-format.js';

/** 1 / (2 ln 2): the limit of HyperLogLog's alpha constant. */
const ALPHA_INF = 0.5 / Math.LN2;

/** Estimated number of distinct items of an encoded sketch, rounded to an integer. */
export function estimate(bytes: Uint8Array, precision: number): number {
  const format = checkHeader(bytes, precision);
  const m = 2 ** precision;
  const q = 64 - precision;
  // histogram[k]: number of registers holding k (0 … q + 1).
  const histogram = new Float64Array(q + 2);
  const tally = (r: number) => {
    histogram[r] = (histogram[r] as number) + 1;
  };
  if (format === DENSE) {
    for (let i = HEADER_BYTES; i < bytes.length; i++) tally(bytes[i] as number);
  } else {
    for (let at = HEADER_BYTES + 3; at < bytes.length; at += 4) tally(bytes[at] as number);
    histogram[0] = m - sparseCount(bytes);
  }
  let z = m * tau(1 - (histogram[q + 1] as number) / m);
  for (let k = q; k >= 1; k--) z = 0.5 * (z + (histogram[k] as number));
  z += m * sigma((histogram[0] as number) / m);
  return Math.round((ALPHA_INF * m * m) / z);
}

/** Ertl's σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k−1), summed until it stops changing. */
function sigma(x: number): number {
  if (x === 1) return Number.POSITIVE_INFINITY;
  let y = 1;
  let z = x;
  let previous: number;
  do {
    x *= x;
    previous = z;
    z += x * y;
    y += y;
  } while (z !== previous);
  return z;
}

/** Ertl's τ(x) = (1 − x − Σ_{k≥1} (1 − x^(2^−k))² 2^−k) / 3, summed until it stops changing. */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  let previous: number;
  do {
    x = Math.sqrt(x);
    previous = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
  } while (z !== previous);
  return z / 3;
}
