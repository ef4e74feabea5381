import { createHash } from 'node:crypto';

/** Length of a batch id in hex characters (128 bits: collisions are not a practical concern). */
export const BATCH_ID_LENGTH = 32;

/**
 * The stable id of a batch: sha256 of the source's absolute path, the batch's start offset and
 * the hash of its bytes, hex, first {@link BATCH_ID_LENGTH} characters. The same bytes at the
 * same place of the same file get the same id in every run; that is what lets a later run skip
 * what an earlier one merged.
 */
export function batchIdOf(absPath: string, startOffset: number, contentHash: string): string {
  return createHash('sha256')
    .update(`${absPath}\0${startOffset}\0${contentHash}`)
    .digest('hex')
    .slice(0, BATCH_ID_LENGTH);
}
