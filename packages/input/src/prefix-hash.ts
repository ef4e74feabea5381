/**
 * The content hash of a folded plan entry (docs/decisions/0039): a hash of a source's first bytes
 * that can be **extended** later from a small stored state, without reading the bytes hashed
 * before again. Plain sha256 cannot (Node does not save a hash's state), so the bytes are hashed
 * in blocks of `blockBytes`, each block's sha256 chained into the one before:
 *
 * ```
 * chain(0) = ''          chain(i + 1) = sha256(chain(i) + sha256(block i))
 * digest   = sha256(chain(k) + ':' + sha256(bytes after the k full blocks))
 * ```
 *
 * The state `{ blockBytes, through: k × blockBytes, chain: chain(k) }` is what a folded entry
 * stores: extending it reads from `through` on (less than one block of old bytes), and checking a
 * folded entry from scratch is one pass over its bytes, like any batch.
 *
 * ```ts
 * const h = PrefixHash.resume(entry.folded);   // or PrefixHash.fresh()
 * h.update(bytesFromThrough);
 * h.digest() === entry.contentHash;
 * ```
 */
import { createHash, type Hash } from 'node:crypto';

/** Default block: large enough that chaining costs nothing, small enough to re-read at every fold. */
export const PREFIX_HASH_BLOCK_BYTES = 1024 * 1024;

/** What a folded entry keeps to extend its hash. */
export interface PrefixHashState {
  readonly blockBytes: number;
  /** Bytes hashed into full blocks (a multiple of `blockBytes`): reading resumes here. */
  readonly through: number;
  /** The chain over those blocks, hex ('' before the first full block). */
  readonly chain: string;
}

/** Something that hashes a batch's bytes as they pass, for comparing with its `contentHash`. */
export interface ContentHasher {
  update(bytes: Uint8Array): void;
  /** Hex digest of what was fed so far. */
  digest(): string;
}

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** True when `value` is a well-formed {@link PrefixHashState} (a stored plan is data from disk). */
export function isPrefixHashState(value: unknown): value is PrefixHashState {
  const s = value as Partial<PrefixHashState> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    Number.isSafeInteger(s.blockBytes) &&
    (s.blockBytes as number) > 0 &&
    Number.isSafeInteger(s.through) &&
    (s.through as number) >= 0 &&
    (s.through as number) % (s.blockBytes as number) === 0 &&
    typeof s.chain === 'string'
  );
}

/** The extendable hash of a prefix. */
export class PrefixHash implements ContentHasher {
  private block: Hash = createHash('sha256');
  private filled = 0;

  private constructor(
    private readonly blockBytes: number,
    private through: number,
    private chain: string,
  ) {}

  /** A hash of nothing yet, from offset 0. */
  static fresh(blockBytes = PREFIX_HASH_BLOCK_BYTES): PrefixHash {
    return new PrefixHash(blockBytes, 0, '');
  }

  /** Goes on from a stored state: feed it the bytes from `state.through` on. */
  static resume(state: PrefixHashState): PrefixHash {
    return new PrefixHash(state.blockBytes, state.through, state.chain);
  }

  update(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      const take = Math.min(this.blockBytes - this.filled, bytes.length - at);
      this.block.update(bytes.subarray(at, at + take));
      this.filled += take;
      at += take;
      if (this.filled === this.blockBytes) {
        this.chain = sha256Hex(this.chain + this.block.digest('hex'));
        this.through += this.blockBytes;
        this.block = createHash('sha256');
        this.filled = 0;
      }
    }
  }

  digest(): string {
    return sha256Hex(`${this.chain}:${this.block.copy().digest('hex')}`);
  }

  /** The state to store (the bytes of the unfinished block are read again when resuming). */
  state(): PrefixHashState {
    return { blockBytes: this.blockBytes, through: this.through, chain: this.chain };
  }
}

/** A plain sha256 as a {@link ContentHasher} (an ordinary batch's content hash). */
export function sha256Hasher(): ContentHasher {
  const hash = createHash('sha256');
  return {
    update: (bytes) => void hash.update(bytes),
    digest: () => hash.digest('hex'),
  };
}
