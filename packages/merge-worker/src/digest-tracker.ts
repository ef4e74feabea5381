/**
 * The running digest of one partition (see `StateDigest` in @mrm/core): bytes and a 128-bit hash
 * summed over the live keys. A key's entry hash is MD5 of its canonical key's UTF-8 bytes, a 0 byte
 * (canonical keys, being JSON text, never contain one) and its value encoded with core's codec
 * (byte for byte what the store holds). Anyone can recompute it from `mrm query --out` output.
 *
 * A checkpoint hashes every key it changed (65,824 keys per checkpoint for word count on the
 * books), so the arithmetic avoids BigInt and short entries avoid a call into `node:crypto`: the
 * 128-bit values are four 32-bit words, and an entry of at most 55 bytes is hashed by
 * {@link md5Short} (docs/decisions/0041-digest-and-batch-size.md).
 */
import { hash as digestBytes } from 'node:crypto';
import { type CanonicalKey, encode, type StateDigest, stateHashToBigInt } from '@mrm/core';
import { MD5_SHORT_MAX_BYTES, md5Short } from './md5-short.js';

/** Where an entry's bytes are laid out for hashing (reused: one key after another, never concurrently). */
let scratch = Buffer.allocUnsafe(64 * 1024);
/** The words of the last short MD5. */
const words = new Int32Array(4);
const WORD = 2 ** 32;

/**
 * Entry hash (a number below 2^128 as four 32-bit words, `h0` the most significant) and byte size
 * of one live key. The words are signed (`>>> 0` gives the unsigned value): as small integers they
 * need no boxed number each in the objects a checkpoint keeps per key.
 */
export interface EntryDigest {
  readonly h0: number;
  readonly h1: number;
  readonly h2: number;
  readonly h3: number;
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
  const length = keyLength + 1 + valueBytes.length;
  const bytes = keyLength + valueBytes.length;
  if (length <= MD5_SHORT_MAX_BYTES) {
    md5Short(scratch, length, words);
    return { h0: words[0] as number, h1: words[1] as number, h2: words[2] as number, h3: words[3] as number, bytes };
  }
  const md5 = digestBytes('md5', scratch.subarray(0, length), 'buffer');
  return { h0: md5.readInt32BE(0), h1: md5.readInt32BE(4), h2: md5.readInt32BE(8), h3: md5.readInt32BE(12), bytes };
}

/** Bytes and hash of a partition, updated key by key. */
export class DigestTracker {
  // The hash mod 2^128 as four unsigned 32-bit words, h0 the most significant.
  private h0 = 0;
  private h1 = 0;
  private h2 = 0;
  private h3 = 0;

  private constructor(
    private bytes: number,
    hash: bigint,
  ) {
    const word = (shift: bigint) => Number((hash >> shift) & 0xffffffffn);
    this.h0 = word(96n);
    this.h1 = word(64n);
    this.h2 = word(32n);
    this.h3 = word(0n);
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
    // Word by word from the least significant, carrying (or borrowing) into the next; mod 2^128.
    let s = this.h3 + sign * (entry.h3 >>> 0);
    let carry = s >= WORD ? 1 : s < 0 ? -1 : 0;
    this.h3 = s - carry * WORD;
    s = this.h2 + sign * (entry.h2 >>> 0) + carry;
    carry = s >= WORD ? 1 : s < 0 ? -1 : 0;
    this.h2 = s - carry * WORD;
    s = this.h1 + sign * (entry.h1 >>> 0) + carry;
    carry = s >= WORD ? 1 : s < 0 ? -1 : 0;
    this.h1 = s - carry * WORD;
    s = this.h0 + sign * (entry.h0 >>> 0) + carry;
    carry = s >= WORD ? 1 : s < 0 ? -1 : 0;
    this.h0 = s - carry * WORD;
  }

  /** The digest, given the partition's key count. */
  digest(keys: number): StateDigest {
    const hex = (word: number) => word.toString(16).padStart(8, '0');
    return { keys, bytes: this.bytes, hash: hex(this.h0) + hex(this.h1) + hex(this.h2) + hex(this.h3) };
  }
}
