/**
 * The running digest of one partition (see `StateDigest` in @mrm/core): bytes and a 128-bit hash
 * summed over the live keys. A key's entry hash is MD5 of its canonical key's UTF-8 bytes, a 0 byte
 * (canonical keys, being JSON text, never contain one) and its value encoded with core's codec
 * (byte for byte what the store holds). Anyone can recompute it from `mrm query --out` output.
 */
import { hash as digestBytes } from 'node:crypto';
import { type CanonicalKey, encode, type StateDigest, stateHashOf, stateHashToBigInt } from '@mrm/core';

/** Where an entry's bytes are laid out for hashing (reused: one key after another, never concurrently). */
let scratch = Buffer.allocUnsafe(64 * 1024);

/** Entry hash (as a number below 2^128) and byte size of one live key. */
export interface EntryDigest {
  readonly hash: bigint;
  readonly bytes: number;
}

/** The entry digest of `key` holding `value`. */
export function entryDigest(key: CanonicalKey, value: unknown): EntryDigest {
  return encodedEntryDigest(key, encode(value));
}

/** The entry digest of `key` holding the value whose MessagePack encoding is `valueBytes`. */
export function encodedEntryDigest(key: CanonicalKey, valueBytes: Uint8Array): EntryDigest {
  // Key, 0 byte and value written into one reused buffer: no allocation or copy per key.
  const most = key.length * 3 + 1 + valueBytes.length;
  if (scratch.length < most) scratch = Buffer.allocUnsafe(Math.max(most, scratch.length * 2));
  const keyLength = scratch.write(key, 0, 'utf8');
  scratch[keyLength] = 0;
  scratch.set(valueBytes, keyLength + 1);
  const md5 = digestBytes('md5', scratch.subarray(0, keyLength + 1 + valueBytes.length), 'buffer');
  return {
    hash: (md5.readBigUInt64BE(0) << 64n) | md5.readBigUInt64BE(8),
    bytes: keyLength + valueBytes.length,
  };
}

/** Bytes and hash of a partition, updated key by key. */
export class DigestTracker {
  private hash: bigint;

  private constructor(
    private bytes: number,
    hash: bigint,
  ) {
    this.hash = hash;
  }

  /** Starts from a stored digest (or an empty partition). */
  static from(digest: StateDigest | undefined): DigestTracker {
    return new DigestTracker(digest?.bytes ?? 0, digest === undefined ? 0n : stateHashToBigInt(digest.hash));
  }

  /** Adds (sign 1) or removes (sign -1) a live key. */
  add(key: CanonicalKey, value: unknown, sign: 1 | -1 = 1): void {
    this.addEntry(entryDigest(key, value), sign);
  }

  /** Adds (sign 1) or removes (sign -1) a live key by its entry digest. */
  addEntry(entry: EntryDigest, sign: 1 | -1 = 1): void {
    this.bytes += sign * entry.bytes;
    this.hash += sign === 1 ? entry.hash : -entry.hash;
  }

  /** The digest, given the partition's key count. */
  digest(keys: number): StateDigest {
    return { keys, bytes: this.bytes, hash: stateHashOf(this.hash) };
  }
}
