import { describe, expect, it } from 'vitest';
import {
  checkpointBlobName,
  decodeCheckpointCopy,
  ErrorCode,
  encode,
  encodeCheckpointCopy,
  MrmError,
  restoreChain,
} from '../src/index.js';

const entry = (version: number, full: boolean, token = 7) => ({ version, token, full });

describe('restoreChain', () => {
  it('starts at the newest full snapshot at or below the version and takes every delta up to it', () => {
    const manifest = { partitions: [[entry(10, true), entry(11, false), entry(12, false), entry(13, false)]] };
    expect(restoreChain('wc', manifest, 0, 12)).toEqual([
      checkpointBlobName('wc', 0, 10, 7),
      checkpointBlobName('wc', 0, 11, 7),
      checkpointBlobName('wc', 0, 12, 7),
    ]);
  });

  it('names each copy by the token it was written under', () => {
    const manifest = { partitions: [[entry(1, true, 3), entry(2, false, 9)]] };
    expect(restoreChain('wc', manifest, 0, 2)).toEqual(['checkpoints/wc/p0/v1-t3', 'checkpoints/wc/p0/v2-t9']);
  });

  it('is empty when the chain has a gap, has no full snapshot, or the partition has no copies', () => {
    expect(restoreChain('wc', { partitions: [[entry(1, true), entry(3, false)]] }, 0, 3)).toEqual([]);
    expect(restoreChain('wc', { partitions: [[entry(2, false), entry(3, false)]] }, 0, 3)).toEqual([]);
    expect(restoreChain('wc', { partitions: [[]] }, 0, 1)).toEqual([]);
    expect(restoreChain('wc', undefined, 0, 1)).toEqual([]);
  });
});

describe('checkpoint copies', () => {
  it('round-trip through their encoding', () => {
    const copy = {
      version: 4,
      partition: 2,
      full: false,
      entries: ['"a"', 1],
      deleted: ['"b"'],
      batches: ['x'],
      keyCount: 1,
    };
    expect(decodeCheckpointCopy(encodeCheckpointCopy(copy), 'n')).toEqual(copy);
  });

  it('decode alike whether their values are encoded with the copy or spliced in already encoded', () => {
    // 1, 20 and 40,000 entries: the fix, 16-bit and 32-bit array headers; one value not given encoded.
    for (const n of [2, 20, 40_000]) {
      const entries: unknown[] = [];
      const encoded = new Map<string, Uint8Array>();
      for (let i = 0; i < n; i++) {
        const key = `"k${i}"`;
        const value = i % 3 === 0 ? [i, 'é'.repeat(i % 40)] : { n: i, big: 2 ** 40 + i };
        entries.push(key, value);
        if (i !== n - 1) encoded.set(key, encode(value));
      }
      const copy = {
        version: 9,
        partition: 1,
        full: false,
        entries,
        deleted: ['"gone"'],
        batches: ['b1', 'b2'],
        keyCount: n,
        digest: { keys: n, bytes: 123, hash: '0'.repeat(32) },
        deadLetters: [],
      };
      const spliced = encodeCheckpointCopy(copy, encoded);
      expect(decodeCheckpointCopy(spliced, 'n')).toEqual(copy);
    }
  });

  it('refuse bytes that are not a copy with E_STATE naming the blob', () => {
    let error: unknown;
    try {
      decodeCheckpointCopy(new Uint8Array([0xc1]), 'checkpoints/wc/p0/v1-t1');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MrmError);
    expect((error as MrmError).code).toBe(ErrorCode.State);
    expect((error as MrmError).message).toMatch(/checkpoints\/wc\/p0\/v1-t1/);
  });
});
