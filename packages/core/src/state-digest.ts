/**
 * The digest of a job's state: how many keys, how many bytes, and a 128-bit hash that does not
 * depend on how the state is partitioned. Each live key contributes a 128-bit entry hash (computed
 * by the merge worker from the key's canonical bytes and its encoded value); the state's hash is
 * the sum of the entry hashes modulo 2^128. A sum is commutative, so partitions and workers add up
 * in any order, and it is kept incrementally: a write subtracts the old entry's hash and adds the
 * new one. This module holds the arithmetic; no I/O, no hashing of bytes.
 */

/** Keys, bytes and hash of (a part of) a state. */
export interface StateDigest {
  /** Live keys. */
  readonly keys: number;
  /** Sum over live keys of UTF-8 bytes of the canonical key plus bytes of the encoded value. */
  readonly bytes: number;
  /** Sum of the entry hashes mod 2^128, as 32 lowercase hex digits. */
  readonly hash: string;
}

/** The hash of an empty state. */
export const EMPTY_STATE_HASH = '0'.repeat(32);

/** The digest of an empty state. */
export const EMPTY_STATE_DIGEST: StateDigest = Object.freeze({ keys: 0, bytes: 0, hash: EMPTY_STATE_HASH });

const MASK_128 = (1n << 128n) - 1n;

/** A state hash as a number (0 ≤ n < 2^128). */
export function stateHashToBigInt(hash: string): bigint {
  return BigInt(`0x${hash}`);
}

/** A number taken mod 2^128 as a state hash (32 hex digits). */
export function stateHashOf(n: bigint): string {
  return (n & MASK_128).toString(16).padStart(32, '0');
}

/** The digest of the union of disjoint parts (partitions) of a state. */
export function sumStateDigests(parts: Iterable<StateDigest>): StateDigest {
  let keys = 0;
  let bytes = 0;
  let hash = 0n;
  for (const part of parts) {
    keys += part.keys;
    bytes += part.bytes;
    hash += stateHashToBigInt(part.hash);
  }
  return { keys, bytes, hash: stateHashOf(hash) };
}

/** True when `value` is a well-formed {@link StateDigest} (records read back from a store). */
export function isStateDigest(value: unknown): value is StateDigest {
  if (typeof value !== 'object' || value === null) return false;
  const d = value as Partial<StateDigest>;
  return typeof d.keys === 'number' && typeof d.bytes === 'number' && typeof d.hash === 'string';
}
