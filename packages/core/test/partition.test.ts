import { canonicalKey, hashKey, partitionOf } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { seeded } from './support/random.js';

/** MurmurHash3_x86_32 over bytes, written from the reference (SMHasher) algorithm. */
function murmur3Bytes(bytes: Uint8Array, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = bytes.length >> 2;
  const mixK = (k: number) => Math.imul(((Math.imul(k, c1) << 15) | (Math.imul(k, c1) >>> 17)) >>> 0, c2);
  for (let b = 0; b < blocks; b++) {
    const i = b * 4;
    const k =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24);
    h ^= mixK(k);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  const tail = blocks * 4;
  const rest = bytes.length & 3;
  if (rest > 0) {
    let k = 0;
    for (let i = rest - 1; i >= 0; i--) k = (k << 8) | (bytes[tail + i] as number);
    h ^= mixK(k);
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

describe('reference MurmurHash3 (test oracle)', () => {
  it('matches the published test vectors', () => {
    expect(murmur3Bytes(ascii(''), 0)).toBe(0);
    expect(murmur3Bytes(ascii(''), 1)).toBe(0x514e28b7);
    expect(murmur3Bytes(ascii(''), 0xffffffff)).toBe(0x81f16f39);
    expect(murmur3Bytes(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 0)).toBe(0x76293b50);
    expect(murmur3Bytes(new Uint8Array([0x21, 0x43, 0x65, 0x87]), 0)).toBe(0xf55b516b);
    expect(murmur3Bytes(new Uint8Array([0x21, 0x43, 0x65, 0x87]), 0x5082edee)).toBe(0x2362f9de);
    expect(murmur3Bytes(new Uint8Array([0x21, 0x43, 0x65]), 0)).toBe(0x7e4a8634);
    expect(murmur3Bytes(new Uint8Array([0x21, 0x43]), 0)).toBe(0xa0f7b07a);
    expect(murmur3Bytes(new Uint8Array([0x21]), 0)).toBe(0x72661cf4);
    expect(murmur3Bytes(new Uint8Array([0, 0, 0, 0]), 0)).toBe(0x2362f9de);
    expect(murmur3Bytes(ascii('Hello, world!'), 0x9747b28c)).toBe(0x24884cba);
    expect(murmur3Bytes(ascii('The quick brown fox jumps over the lazy dog'), 0x9747b28c)).toBe(0x2fa826cd);
  });
});

describe('hashKey', () => {
  it('is MurmurHash3_x86_32 of the UTF-16LE bytes of the canonical key, seeded with the salt', () => {
    const rnd = seeded(5);
    const chars = ['a', 'Z', '"', 'é', '中', '😀', '\u0000', '\uFFFF'];
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: rnd.int(12) }, () => rnd.pick(chars)).join('');
      const salt = rnd.chance(0.5) ? 0 : rnd.int(2 ** 32);
      expect(hashKey(text, salt), JSON.stringify(text)).toBe(
        murmur3Bytes(new Uint8Array(Buffer.from(text, 'utf16le')), salt),
      );
    }
  });

  it('gives the same values on every machine and version (pinned once, checked against the oracle)', () => {
    expect(hashKey('')).toBe(0);
    expect(hashKey(canonicalKey('a'))).toBe(3041058994);
    expect(hashKey(canonicalKey('wordcount'))).toBe(668369101);
    expect(hashKey(canonicalKey(['host', 443]))).toBe(3718258587);
    expect(hashKey(canonicalKey('a'), 1)).toBe(2757475802);
  });

  it('spreads 100k keys evenly over 16 and 64 partitions', () => {
    for (const partitions of [16, 64]) {
      const counts = new Array<number>(partitions).fill(0);
      for (let i = 0; i < 100_000; i++) {
        const p = partitionOf(canonicalKey(`key-${i}`), partitions);
        counts[p] = (counts[p] as number) + 1;
      }
      const mean = 100_000 / partitions;
      // About 4 standard deviations of a binomial count: a fair hash passes, a skewed one does not.
      const slack = 4 * Math.sqrt(mean);
      for (const c of counts) expect(Math.abs(c - mean)).toBeLessThan(slack);
    }
  });
});

describe('partitionOf', () => {
  it('is always a partition index', () => {
    for (let i = 0; i < 1000; i++) {
      const p = partitionOf(canonicalKey(i), 7, i);
      expect(Number.isInteger(p) && p >= 0 && p < 7).toBe(true);
    }
  });

  it('moves most keys to another partition when the salt changes', () => {
    let moved = 0;
    for (let i = 0; i < 10_000; i++) {
      const key = canonicalKey(['user', i]);
      if (partitionOf(key, 16, 0) !== partitionOf(key, 16, 1)) moved++;
    }
    // Independent placement would move 15/16 of the keys.
    expect(moved / 10_000).toBeGreaterThan(0.9);
    expect(moved / 10_000).toBeLessThan(0.97);
  });

  it('is stable for a key and salt', () => {
    const key = canonicalKey(['host', 'example.org']);
    expect(partitionOf(key, 16, 3)).toBe(partitionOf(key, 16, 3));
    expect(partitionOf(key, 16, 3)).toBe(hashKey(key, 3) % 16);
  });
});
