/**
 * What a job's `reduce`, `combine` and `merge` may return: a value MessagePack carries faithfully
 * and `--out` writes as JSON. {@link unstorableReason} says why a value is not one, in a few words,
 * or returns undefined. It is on the merge hot path: a type switch for plain values, recursion only
 * into arrays and plain objects.
 *
 * Storable: `null`, booleans, finite numbers, strings, `Date`, byte arrays (`Uint8Array`, Buffer),
 * arrays of storable values, and plain objects (prototype `Object.prototype` or `null`) whose
 * property values are storable or `undefined` (such a property is dropped from JSON output).
 * Not storable: `undefined` (at the top: `merge` returns it to delete a key, the other functions
 * may not), `NaN` and ±`Infinity` (JSON has no such numbers), BigInt (stored as a lossy number),
 * functions and symbols (not data), `Map`, `Set` and other class instances (they come back as
 * plain objects or not at all), and values nested deeper than {@link MAX_VALUE_DEPTH} (a cycle).
 */

/** Deepest nesting of arrays and objects a stored value may have. */
export const MAX_VALUE_DEPTH = 256;

/** Why `value` cannot be stored faithfully, or undefined when it can. */
export function unstorableReason(value: unknown): string | undefined {
  return reasonAt(value, 0, '');
}

function reasonAt(value: unknown, depth: number, path: string): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : at(`${value} is not a finite number`, path);
    case 'undefined':
      return at('undefined', path);
    case 'bigint':
      return at(`BigInt ${value}n (MessagePack carries it as a lossy number; return a number or a string)`, path);
    case 'function':
      return at('a function', path);
    case 'symbol':
      return at('a symbol', path);
    default:
      break;
  }
  if (value === null) return undefined;
  if (depth >= MAX_VALUE_DEPTH) return at(`nested more than ${MAX_VALUE_DEPTH} levels deep (a cycle?)`, path);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const reason = reasonAt(value[i], depth + 1, `${path}[${i}]`);
      if (reason !== undefined) return reason;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    for (const name in value as Record<string, unknown>) {
      const v = (value as Record<string, unknown>)[name];
      if (v === undefined) continue;
      const reason = reasonAt(v, depth + 1, `${path}.${name}`);
      if (reason !== undefined) return reason;
    }
    return undefined;
  }
  if (value instanceof Uint8Array || value instanceof Date) return undefined;
  const name = (proto as { constructor?: { name?: string } })?.constructor?.name ?? 'an object';
  return at(`a ${name} (only plain objects, arrays, Date and Uint8Array are stored as they are)`, path);
}

function at(what: string, path: string): string {
  return path === '' ? what : `${what} at ${path.startsWith('.') ? path.slice(1) : path}`;
}
