/**
 * Tagged partials: what a built-in `combine` returns when its output is not of the emitted type
 * (a count of values, a running mean, a set of items). `reduce` sees partials mixed with raw
 * emitted values and tells them apart by the tag. The tag format lives only here.
 *
 * An emitted value that is itself an object with a `'~mrm'` field naming an aggregate would be
 * taken for a partial: that field name is reserved.
 */

/** The field that marks a partial; its value names the aggregate that made it. */
export const PARTIAL_TAG = '~mrm';

/** A partial of aggregate `K` carrying the fields `F`. */
export type TaggedPartial<K extends string, F extends object> = { readonly [PARTIAL_TAG]: K } & F;

/** Makes a partial of aggregate `kind`. */
export function tagPartial<K extends string, F extends object>(kind: K, fields: F): TaggedPartial<K, F> {
  return { [PARTIAL_TAG]: kind, ...fields } as TaggedPartial<K, F>;
}

/**
 * The partial of aggregate `kind` that `value` is, or `undefined` for a raw value. The fields are
 * trusted: only this aggregate's `combine` makes partials of its kind.
 */
export function asPartial<P extends TaggedPartial<string, object>>(
  value: unknown,
  kind: P[typeof PARTIAL_TAG],
): P | undefined {
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>)[PARTIAL_TAG] === kind
    ? (value as P)
    : undefined;
}
