/**
 * What a value held in memory costs, roughly: the measure of a partition's state budget
 * (docs/decisions/0040). Exact sizes are not knowable in JavaScript; this counts what grows with
 * the data (string characters, array elements, object properties, binary bytes) plus a small
 * constant per value, and samples long collections so that sizing a value costs no more than a
 * `merge` that built it.
 *
 * ```ts
 * approxBytes(42); // 8
 * approxBytes('x'.repeat(1000)); // 1016
 * ```
 */

/** Elements of a collection sized one by one; longer ones are sampled evenly and scaled. */
const SAMPLE = 32;
/** Nesting sized one level after another; deeper values count as {@link DEEP_BYTES}. */
const MAX_DEPTH = 4;
const DEEP_BYTES = 64;
/** What any value costs besides its contents (a heap object's header, a slot in its parent). */
const VALUE_BYTES = 16;

/** Bytes a key of a partition's cache costs besides its value (the key string and the map entry). */
export function entryBytes(key: string, value: unknown): number {
  return 48 + key.length + approxBytes(value);
}

/** Approximate bytes `value` holds in memory (0 for `undefined`: an absent key holds nothing). */
export function approxBytes(value: unknown): number {
  switch (typeof value) {
    case 'number':
    case 'boolean':
      return 8;
    case 'undefined':
      return 0;
    case 'string':
      return VALUE_BYTES + value.length;
    case 'bigint':
      return VALUE_BYTES + 8;
    case 'object':
      return value === null ? 8 : objectBytes(value, 0);
    default:
      return VALUE_BYTES;
  }
}

function sized(value: unknown, depth: number): number {
  if (typeof value !== 'object' || value === null) return approxBytes(value);
  return depth >= MAX_DEPTH ? DEEP_BYTES : objectBytes(value, depth);
}

function objectBytes(value: object, depth: number): number {
  if (Array.isArray(value)) return VALUE_BYTES + listBytes(value.length, (i) => value[i], depth);
  if (ArrayBuffer.isView(value)) return VALUE_BYTES * 4 + value.byteLength;
  if (value instanceof Map) {
    const entries = [...sampleOf(value.entries(), value.size)];
    return VALUE_BYTES * 2 + scaled(entries, value.size, ([k, v]) => sized(k, depth + 1) + sized(v, depth + 1));
  }
  if (value instanceof Set) {
    const items = [...sampleOf(value.values(), value.size)];
    return VALUE_BYTES * 2 + scaled(items, value.size, (v) => sized(v, depth + 1));
  }
  if (value instanceof Date) return VALUE_BYTES + 8;
  const keys = Object.keys(value);
  const record = value as Record<string, unknown>;
  return (
    VALUE_BYTES * 2 +
    listBytes(keys.length, (i) => keys[i] as string, depth) +
    listBytes(keys.length, (i) => record[keys[i] as string], depth)
  );
}

/** Sizes `n` elements read by `at`: all of them, or {@link SAMPLE} evenly spaced, scaled to `n`. */
function listBytes(n: number, at: (i: number) => unknown, depth: number): number {
  if (n <= SAMPLE) {
    let bytes = 8 * n;
    for (let i = 0; i < n; i++) bytes += sized(at(i), depth + 1);
    return bytes;
  }
  let sample = 0;
  for (let j = 0; j < SAMPLE; j++) sample += sized(at(Math.floor((j * n) / SAMPLE)), depth + 1);
  return 8 * n + Math.ceil((sample * n) / SAMPLE);
}

/** The first {@link SAMPLE} items of a collection of `size` (Maps and Sets have no index). */
function* sampleOf<T>(items: Iterator<T>, size: number): Generator<T> {
  const take = Math.min(size, SAMPLE);
  for (let i = 0; i < take; i++) {
    const next = items.next();
    if (next.done === true) return;
    yield next.value;
  }
}

function scaled<T>(sample: readonly T[], size: number, bytesOf: (item: T) => number): number {
  let bytes = 0;
  for (const item of sample) bytes += bytesOf(item);
  return 8 * size + (sample.length === 0 ? 0 : Math.ceil((bytes * size) / sample.length));
}
