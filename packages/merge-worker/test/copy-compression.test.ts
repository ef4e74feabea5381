/**
 * Packed checkpoint copies (decisions/0054): compressible copies are stored smaller and read back
 * byte for byte; small and incompressible ones, and every copy written before packing existed,
 * are stored and read as they are; a damaged packed copy fails loudly, naming the blob.
 */
import { randomBytes } from 'node:crypto';
import {
  type CheckpointCopy,
  canonicalKey,
  decodeCheckpointCopy,
  EMPTY_STATE_DIGEST,
  encodeCheckpointCopy,
} from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { MIN_PACKED_INPUT_BYTES, PACKED_MARK, packCopy, unpackCopy } from '../src/copy-compression.js';

/** A delta of `n` keys whose values are ~1 KB of English-like text (repetitive, as real values are). */
function textCopy(n: number): CheckpointCopy {
  const words = ['the', 'merge', 'state', 'of', 'a', 'partition', 'is', 'copied', 'every', 'version'];
  const entries: unknown[] = [];
  for (let i = 0; i < n; i++) {
    let text = '';
    for (let w = 0; text.length < 1000; w++) text += `${words[(i * 7 + w * 3) % words.length]} `;
    entries.push(canonicalKey(`key-${i}`), [i, text]);
  }
  return {
    version: 3,
    partition: 1,
    full: false,
    entries,
    deleted: [],
    batches: ['b3'],
    keyCount: n,
    digest: EMPTY_STATE_DIGEST,
  };
}

describe('packed checkpoint copies', () => {
  it('stores a compressible copy packed, much smaller, and reads it back to the same copy', async () => {
    const copy = textCopy(200);
    const encoded = encodeCheckpointCopy(copy);
    const stored = await packCopy(encoded);
    expect(stored[0]).toBe(PACKED_MARK);
    expect(stored.byteLength).toBeLessThan(encoded.byteLength / 4);
    const unpacked = await unpackCopy(stored, 'checkpoints/j/p1/v3-t1');
    expect(Buffer.from(unpacked).equals(Buffer.from(encoded))).toBe(true);
    expect(decodeCheckpointCopy(unpacked, 'n')).toEqual(copy);
  });

  it('stores small and incompressible copies as they are, and reads unpacked copies (older builds) unchanged', async () => {
    const small = encodeCheckpointCopy(textCopy(2));
    expect(small.byteLength).toBeLessThan(MIN_PACKED_INPUT_BYTES);
    expect(await packCopy(small)).toBe(small);
    // Incompressible: found on the whole copy (small), or on a sample of it (large).
    for (const bytes of [64 * 1024, 600 * 1024]) {
      const noise = encodeCheckpointCopy({ ...textCopy(0), entries: [canonicalKey('k'), randomBytes(bytes)] });
      expect(await packCopy(noise)).toBe(noise);
    }
    // An encoded copy (what every build before packing stored) never starts with the mark.
    const old = encodeCheckpointCopy(textCopy(200));
    expect(old[0]).not.toBe(PACKED_MARK);
    expect(await unpackCopy(old, 'n')).toBe(old);
  });

  it('refuses a damaged packed copy or an unknown codec with E_STATE naming the blob', async () => {
    const stored = await packCopy(encodeCheckpointCopy(textCopy(200)));
    const name = 'checkpoints/j/p1/v3-t1';
    const truncated = stored.subarray(0, stored.byteLength - 40);
    await expect(unpackCopy(truncated, name)).rejects.toMatchObject({ code: 'E_STATE' });
    await expect(unpackCopy(truncated, name)).rejects.toThrow(name);
    // A header that claims fewer bytes than the stream holds: the output is bounded, and refused.
    const lying = Uint8Array.from(stored);
    lying[7] = (lying[7] ?? 0) ^ 0x01;
    await expect(unpackCopy(lying, name)).rejects.toMatchObject({ code: 'E_STATE' });
    const unknown = Uint8Array.from(stored);
    unknown[1] = 9;
    await expect(unpackCopy(unknown, name)).rejects.toThrow(/packed with codec 9/);
  });
});
