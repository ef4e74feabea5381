/**
 * Folding a plan's leading batches into one entry (docs/decisions/0039), so that a source planned
 * again and again as it grows (`mrm run --follow`: a short batch per look) keeps a plan of a
 * bounded number of entries. The folded entry covers bytes `0..end` of the source with a
 * {@link PrefixHash} as its content hash and an id derived from it like any batch id; the caller
 * folds only batches that are committed, and records the folded id as merged.
 *
 * ```ts
 * const folded = await foldPlan(file, plan, 100);   // the first 100 entries become one
 * ```
 */
import { throwIfAborted } from './abort.js';
import { batchIdOf } from './batch-id.js';
import { type ContentHasher, PrefixHash, sha256Hasher } from './prefix-hash.js';
import { readChunks } from './read-chunks.js';
import type { SourceFile } from './source-file.js';
import type { PlannedBatch, SourcePlan } from './source-plan.js';

/** A plan with its first entries folded into one, and the ids that entry stands for. */
export interface FoldedPlan {
  readonly plan: SourcePlan;
  /** The folded entry's id (merged wherever the folded ids were). */
  readonly batchId: string;
  /** The ids of the entries folded (a folded entry among them included). */
  readonly foldedIds: readonly string[];
}

/**
 * Folds the first `count` entries of `plan` (planned from `file` just now) into one. Reads the
 * bytes of the entries being folded once more — from the stored state of an earlier fold on, so
 * at most one block of bytes folded before — and checks every entry's hash on the way: if the
 * source no longer holds what was planned, nothing is folded (undefined), and the plan is kept
 * as it is. Undefined too when there is nothing to fold (`count` < 2).
 */
export async function foldPlan(
  file: SourceFile,
  plan: SourcePlan,
  count: number,
  signal?: AbortSignal,
): Promise<FoldedPlan | undefined> {
  const parts = plan.batches.slice(0, count);
  const first = parts[0];
  const last = parts.at(-1);
  if (parts.length < 2 || first === undefined || last === undefined || first.startOffset !== 0) return undefined;
  throwIfAborted(signal, `folding the plan of '${file.displayPath}'`);
  const prefix = first.folded !== undefined ? PrefixHash.resume(first.folded) : PrefixHash.fresh();
  const from = first.folded?.through ?? 0;
  // Each entry is checked against its own hash: the earlier fold by its prefix hash (fed from
  // `through`, where that hash's stored state stops), every batch by its sha256.
  let index = 0;
  let check: ContentHasher = first.folded !== undefined ? prefix : sha256Hasher();
  for await (const { offset, bytes } of readChunks({
    path: file.path,
    displayPath: file.displayPath,
    gzip: file.gzip,
    startOffset: from,
    endOffset: last.endOffset,
    ...(signal !== undefined ? { signal } : {}),
  })) {
    let at = 0;
    while (at < bytes.length) {
      const entry = parts[index] as PlannedBatch;
      const upTo = Math.min(bytes.length, entry.endOffset - offset);
      const piece = bytes.subarray(at, upTo);
      if (check !== prefix) check.update(piece);
      prefix.update(piece);
      at = upTo;
      if (offset + at < entry.endOffset) break;
      if (check.digest() !== entry.contentHash) return undefined;
      index++;
      check = sha256Hasher();
    }
  }
  if (index !== parts.length) return undefined; // the source ended before the entries did
  const contentHash = prefix.digest();
  const identity = file.identity ?? file.path;
  const batchId = batchIdOf(identity, 0, contentHash);
  const folded: PlannedBatch = {
    ordinal: 0,
    batchId,
    startOffset: 0,
    endOffset: last.endOffset,
    firstLine: first.firstLine,
    lines: last.firstLine + last.lines - first.firstLine,
    contentHash,
    folded: prefix.state(),
  };
  const rest = plan.batches.slice(count).map((b, i) => ({ ...b, ordinal: i + 1 }));
  return { plan: { ...plan, batches: [folded, ...rest] }, batchId, foldedIds: parts.map((b) => b.batchId) };
}
