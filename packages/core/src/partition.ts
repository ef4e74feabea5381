/**
 * The partitioner: `partition = hash(canonicalKey, salt) mod partitions`. The hash is 32-bit
 * MurmurHash3 over the UTF-16 code units of the canonical key, seeded with the salt, so it is
 * stable across processes, machines and versions of Node. Salting (spreading a hot key over
 * several reducers) passes a non-zero salt; the seam is here, the policy lives with the skew work.
 */
import type { CanonicalKey } from './key.js';

/** 32-bit MurmurHash3 of a string's UTF-16 code units, seeded with `salt`. */
export function hashKey(canonical: CanonicalKey, salt = 0): number {
  let h = salt >>> 0;
  const len = canonical.length;
  let i = 0;
  // Two code units make one 32-bit block.
  for (; i + 1 < len; i += 2) {
    let k = (canonical.charCodeAt(i) | (canonical.charCodeAt(i + 1) << 16)) >>> 0;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < len) {
    let k = canonical.charCodeAt(i);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= len * 2;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The partition (0 ≤ p < partitions) that owns a key under a salt. */
export function partitionOf(canonical: CanonicalKey, partitions: number, salt = 0): number {
  return partitionOfHash(hashKey(canonical, salt), partitions);
}

/** The partition of a key whose {@link hashKey} is `hash` (for callers that cache hashes). */
export function partitionOfHash(hash: number, partitions: number): number {
  return hash % partitions;
}
