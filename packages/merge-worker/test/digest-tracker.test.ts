/**
 * The entry hashes and their sum are the documented ones (docs/storage.md): MD5 of the canonical
 * key's UTF-8 bytes, a 0 byte and the encoded value, summed mod 2^128. Checked against
 * `node:crypto` and BigInt arithmetic, for every message length the short MD5 takes and past it.
 */
import { createHash } from 'node:crypto';
import { type CanonicalKey, canonicalKey, encode, stateHashOf, stateHashToBigInt } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { DigestTracker, encodedEntryDigest, entryDigest } from '../src/digest-tracker.js';
import { MD5_SHORT_MAX_BYTES, md5Short } from '../src/md5-short.js';

/** A repeatable stream of pseudo-random 32-bit numbers. */
function randoms(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s;
  };
}

/** The documented entry hash, computed the slow way. */
function referenceHash(key: CanonicalKey, value: unknown): bigint {
  const bytes = Buffer.concat([Buffer.from(key, 'utf8'), Buffer.of(0), encode(value)]);
  return BigInt(`0x${createHash('md5').update(bytes).digest('hex')}`);
}

const asBigInt = (d: { h0: number; h1: number; h2: number; h3: number }) =>
  (BigInt(d.h0 >>> 0) << 96n) | (BigInt(d.h1 >>> 0) << 64n) | (BigInt(d.h2 >>> 0) << 32n) | BigInt(d.h3 >>> 0);

describe('md5Short', () => {
  it('gives the MD5 of node:crypto for every length it takes', () => {
    const next = randoms(1);
    const out = new Int32Array(4);
    for (let length = 0; length <= MD5_SHORT_MAX_BYTES; length++) {
      for (let round = 0; round < 20; round++) {
        const bytes = Buffer.alloc(64, 0xee); // bytes past the message must not matter
        for (let i = 0; i < length; i++) bytes[i] = next() & 0xff;
        md5Short(bytes, length, out);
        const expected = createHash('md5').update(bytes.subarray(0, length)).digest();
        expect(Buffer.from(Uint32Array.from(out, (w) => w >>> 0).buffer).swap32()).toEqual(expected);
      }
    }
  });

  it('refuses a message longer than one block holds', () => {
    expect(() => md5Short(Buffer.alloc(64), MD5_SHORT_MAX_BYTES + 1, new Int32Array(4))).toThrow(RangeError);
  });
});

describe('entry digests', () => {
  it('are MD5 of key, 0 byte and encoded value, short and long, ASCII and not', () => {
    const next = randoms(2);
    const letters = 'abcdefghijklmnopqrstuvwxyzéü€😀';
    for (let round = 0; round < 400; round++) {
      let raw = '';
      const length = next() % 40;
      for (let i = 0; i < length; i++) raw += letters[next() % letters.length];
      const key = canonicalKey(raw) as CanonicalKey;
      const value = round % 3 === 0 ? next() : round % 3 === 1 ? 'x'.repeat(next() % 60) : [next() % 100, raw];
      const digest = entryDigest(key, value);
      expect(asBigInt(digest)).toBe(referenceHash(key, value));
      expect(digest.bytes).toBe(Buffer.byteLength(key) + encode(value).length);
      expect(encodedEntryDigest(key, encode(value))).toEqual(digest);
    }
  });
});

describe('DigestTracker', () => {
  it('sums entry hashes mod 2^128 as BigInt arithmetic does, adding and removing, across carries', () => {
    const next = randoms(3);
    // Start near 2^128 so additions wrap around, and removals wrap back below zero.
    const start = { keys: 0, bytes: 10, hash: 'ffffffffffffffffffffffffffffff00' };
    const tracker = DigestTracker.from(start);
    let expected = stateHashToBigInt(start.hash);
    let bytes = start.bytes;
    const live: Array<[CanonicalKey, unknown]> = [];
    for (let round = 0; round < 2000; round++) {
      if (live.length > 0 && next() % 3 === 0) {
        const [key, value] = live.splice(next() % live.length, 1)[0] as [CanonicalKey, unknown];
        tracker.add(key, value, -1);
        expected -= referenceHash(key, value);
        bytes -= Buffer.byteLength(key) + encode(value).length;
      } else {
        const key = canonicalKey(`k${round}`) as CanonicalKey;
        const value = next();
        live.push([key, value]);
        tracker.add(key, value);
        expected += referenceHash(key, value);
        bytes += Buffer.byteLength(key) + encode(value).length;
      }
      if (round % 97 === 0)
        expect(tracker.digest(live.length)).toEqual({ keys: live.length, bytes, hash: stateHashOf(expected) });
    }
    expect(tracker.digest(live.length)).toEqual({ keys: live.length, bytes, hash: stateHashOf(expected) });
  });

  it('starts from an empty state at the hash of nothing', () => {
    expect(DigestTracker.from(undefined).digest(0)).toEqual({ keys: 0, bytes: 0, hash: '0'.repeat(32) });
  });
});
