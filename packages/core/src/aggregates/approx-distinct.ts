import type { AggregateParts } from '../job.js';
import type { Key } from '../key.js';
import { badOption } from './check.js';
import { estimate } from './hll-estimate.js';
import { MAX_PRECISION, MIN_PRECISION } from './hll-format.js';
import { HllRegisters } from './hll-registers.js';
import { canonicalItem } from './item.js';
import { asPartial, type TaggedPartial, tagPartial } from './partial.js';

/** Options of {@link approxDistinct}. */
export interface ApproxDistinctOptions {
  /**
   * log2 of the number of registers, 4…18 (default 14: 16384 registers, standard error
   * 1.04 / √16384 ≈ 0.8%, at most 16 KiB per key).
   */
  readonly precision?: number;
}

/** The state of approxDistinct: an encoded HyperLogLog sketch (see hll-format.ts). */
export type ApproxDistinctState = Uint8Array;

/** What approxDistinct's combine passes on. */
export type ApproxDistinctPartial = TaggedPartial<'hll', { readonly sketch: ApproxDistinctState }>;

/**
 * Approximate number of distinct values emitted for a key, in bounded memory (HyperLogLog).
 * `map` emits strings, finite numbers or arrays of those, compared by JSON text as in
 * {@link distinct}. The state is the sketch's registers as bytes: 4 bytes per set register while
 * fewer than a quarter are set, then 2^precision bytes. Queries return the estimate, an integer,
 * with a relative standard error of about 1.04 / √(2^precision) (0.8% at the default precision 14),
 * and nearly exact for counts far below 2^precision. Sketches merge without loss: the sketch of
 * several batches is the sketch of all their items.
 *
 * ```ts
 * defineJob({ name: 'visitors-by-host', input: 'jsonl', map: (r, emit) => emit(r.host, r.ip), ...aggregates.approxDistinct() });
 * ```
 */
export function approxDistinct(
  options: ApproxDistinctOptions = {},
): AggregateParts<Key | ApproxDistinctPartial, ApproxDistinctState, ApproxDistinctState, number> {
  const precision = options.precision ?? 14;
  if (!Number.isInteger(precision) || precision < MIN_PRECISION || precision > MAX_PRECISION) {
    throw badOption(
      'approxDistinct',
      `precision must be an integer from ${MIN_PRECISION} to ${MAX_PRECISION}, got ${String(precision)}`,
    );
  }
  const fold = (key: Key, values: readonly unknown[]): Uint8Array => {
    const registers = new HllRegisters(precision);
    for (const v of values) {
      const partial = asPartial<ApproxDistinctPartial>(v, 'hll');
      if (partial !== undefined) registers.addEncoded(partial.sketch);
      else registers.addItem(canonicalItem('approxDistinct', key, v));
    }
    return registers.encode();
  };
  return {
    combine: (key, values) => tagPartial('hll', { sketch: fold(key, values) }),
    reduce: fold,
    merge: (_key, prev, next) => {
      if (prev === undefined) return next;
      const registers = new HllRegisters(precision);
      registers.addEncoded(prev);
      registers.addEncoded(next);
      return registers.encode();
    },
    finalize: (_key, state) => estimate(state, precision),
  };
}
