/**
 * What a function's source text does not show: the values it captured from its closure. A
 * built-in aggregate's `reduce` reads the same for `topK(3)` and `topK(5)`; its identity
 * (`topK(5)`) tells them apart, so the fingerprint of a job's state code sees the change
 * (docs/job-api.md, "Changing a job's code").
 */

/** A global symbol: survives bundling and a second copy of @mrm/core. */
const CODE_IDENTITY = Symbol.for('mrm.codeIdentity');

/** Writes an argument list canonically; functions by their source, `undefined` kept apart from `null`. */
export function describeArguments(args: readonly unknown[]): string {
  return JSON.stringify(args, (_key, value: unknown) => {
    if (typeof value === 'function') return `[function ${String(value)}]`;
    if (value === undefined) return '[undefined]';
    if (typeof value === 'bigint') return `${value}n`;
    return value;
  });
}

/** Marks `fn` with what it was made from (`topK([5])`); returns `fn`. */
export function declareCodeIdentity<F extends (...args: never[]) => unknown>(fn: F, identity: string): F {
  Object.defineProperty(fn, CODE_IDENTITY, { value: identity, enumerable: false, configurable: true });
  return fn;
}

/** The identity {@link declareCodeIdentity} gave `fn`, if any. */
export function codeIdentityOf(fn: unknown): string | undefined {
  if (typeof fn !== 'function') return undefined;
  const id = (fn as unknown as Record<symbol, unknown>)[CODE_IDENTITY];
  return typeof id === 'string' ? id : undefined;
}
