/**
 * Plans a source into micro-batches with stable ids, in one streaming pass.
 *
 * ```ts
 * const plan = await planSource(file, { format: 'lines', batchLines: 10_000, previous: stored });
 * ```
 */
import { ErrorCode, type InputFormat, MrmError } from '@mrm/core';
import { throwIfAborted } from './abort.js';
import { BatchCutter, type BatchDraft } from './batch-cutter.js';
import { type FileStamp, isFileStamp, isRacy, RACY_MARGIN_MS, readStamp, sameStamp } from './file-stamp.js';
import { type ContentHasher, PrefixHash, sha256Hasher } from './prefix-hash.js';
import { readChunks } from './read-chunks.js';
import { reusableBatches } from './reusable-batches.js';
import type { SourceFile } from './source-file.js';
import type { PlannedBatch, SourcePlan } from './source-plan.js';

/** Options of {@link planSource}. */
export interface PlanSourceOptions {
  readonly format: InputFormat;
  /** Lines per fresh batch (a positive integer). */
  readonly batchLines: number;
  /** The plan an earlier run stored for the same path; its matching batches are reused as they are. */
  readonly previous?: SourcePlan;
  readonly signal?: AbortSignal;
  /** See {@link RACY_MARGIN_MS} (tests shorten it). */
  readonly racyMarginMs?: number;
}

const NEWLINE = 0x0a;

/** The previous batch being checked against the current bytes. */
interface Check {
  readonly batch: PlannedBatch;
  readonly hash: ContentHasher;
  /** Fresh batches cut speculatively over the same bytes, kept in case the check fails. */
  readonly speculative: BatchDraft[];
}

/**
 * Cuts `file` into batches of `options.batchLines` lines, each with a content hash and a stable id.
 *
 * Stability: the previous plan's batches are checked in order against the bytes now at their
 * offsets; each that hashes the same is reused as it is (same boundaries, same id, even if
 * `batchLines` changed). From the first mismatch, or where the previous plan ends, fresh batches
 * are cut. A file that only grew keeps all its old ids. See docs/input.md.
 *
 * One pass: while a previous batch is being checked, fresh batches are cut over the same bytes on
 * the side, so a failed check needs no second read (gzip cannot seek back cheaply).
 *
 * @throws MrmError `E_BAD_OPTION` for a bad `batchLines`; `E_INPUT_MISSING` / `E_INPUT_MALFORMED`
 *   when the file cannot be read or inflated; `E_ABORTED` when `signal` fires.
 */
export async function planSource(file: SourceFile, options: PlanSourceOptions): Promise<SourcePlan> {
  const { batchLines, signal } = options;
  if (!Number.isSafeInteger(batchLines) || batchLines < 1) {
    throw new MrmError(ErrorCode.BadOption, `batch size must be a positive integer of lines, not ${batchLines}`);
  }
  throwIfAborted(signal, `planning input '${file.displayPath}'`);
  const reusable = reusableBatches(file, options.previous);
  const unchanged = unchangedPlan(file, options, reusable);
  if (unchanged !== undefined) return unchanged;
  const batches: PlannedBatch[] = [];
  const commit = (draft: BatchDraft) => batches.push({ ordinal: batches.length, ...draft });
  const cutter = new BatchCutter(file.identity ?? file.path, batchLines);
  const startCheck = (index: number): Check | undefined => {
    const batch = reusable[index];
    if (batch === undefined) return undefined;
    // A folded entry (decisions/0039) is checked with its prefix hash, from offset 0.
    const hash = batch.folded !== undefined ? PrefixHash.fresh(batch.folded.blockBytes) : sha256Hasher();
    return { batch, hash, speculative: [] };
  };
  const trusted = trustedBatches(file, reusable);
  batches.push(...reusable.slice(0, trusted));
  // The next batch is where reading starts; its first line says whether the last trusted one tore a line.
  const resume = reusable[trusted];
  if (trusted > 0 && resume !== undefined) cutter.restartAt(resume.startOffset, resume.firstLine);
  let check = startCheck(trusted);

  const startOffset = trusted > 0 ? resume?.startOffset : undefined;
  for await (const { offset, bytes } of readChunks({
    ...file,
    ...(startOffset !== undefined ? { startOffset } : {}),
    signal,
  })) {
    let at = 0;
    while (check !== undefined && at < bytes.length) {
      const { batch, hash, speculative } = check;
      const upTo = Math.min(bytes.length, batch.endOffset - offset);
      const piece = bytes.subarray(at, upTo);
      hash.update(piece);
      cutter.feed(piece, offset + at, (draft) => speculative.push(draft));
      at = upTo;
      if (offset + at < batch.endOffset) break;
      if (hash.digest() === batch.contentHash) {
        batches.push(batch);
        // A reused batch that ended in the middle of a line (the file was caught mid-write) is
        // followed by the rest of that line: it keeps the line's number.
        const torn = bytes[at - 1] !== NEWLINE;
        cutter.restartAt(batch.endOffset, batch.firstLine + batch.lines - (torn ? 1 : 0));
        check = startCheck(batch.ordinal + 1);
      } else {
        speculative.forEach(commit);
        check = undefined;
      }
    }
    if (at < bytes.length) cutter.feed(bytes.subarray(at), offset + at, commit);
  }
  // The source ends inside a previous batch: it was truncated or rewritten there.
  check?.speculative.forEach(commit);
  cutter.finish(commit);

  const last = batches[batches.length - 1];
  const stamp = await trustworthyStamp(file, options.racyMarginMs ?? RACY_MARGIN_MS);
  return {
    path: file.path,
    identity: file.identity ?? file.path,
    location: file.location ?? file.path,
    displayPath: file.displayPath,
    gzip: file.gzip,
    format: options.format,
    size: last?.endOffset ?? 0,
    lines: last === undefined ? 0 : last.firstLine + last.lines - 1,
    batchLines,
    batches,
    ...(stamp !== undefined ? { stamp } : {}),
  };
}

/**
 * The previous plan itself when the file is provably as it was when that plan was made: its
 * stamp (device, inode, size, mtime, ctime) equals the stamp stored with the plan, which was
 * stored only when not racy. The plan must be whole (every batch well-formed, ending at the
 * file's end for a plain file), and the file planned to its end (not a followed file's last
 * complete line). Anything else: undefined, and the file is read as before.
 */
function unchangedPlan(
  file: SourceFile,
  options: PlanSourceOptions,
  reusable: readonly PlannedBatch[],
): SourcePlan | undefined {
  const previous = options.previous;
  if (previous === undefined || file.stamp === undefined || file.endOffset !== undefined) return undefined;
  if ((previous.identity ?? previous.path) !== (file.identity ?? file.path)) return undefined;
  if (!isFileStamp(previous.stamp) || !sameStamp(previous.stamp, file.stamp)) return undefined;
  if (reusable.length !== previous.batches.length) return undefined;
  const end = reusable.at(-1)?.endOffset ?? 0;
  if (previous.size !== end || (!file.gzip && end !== file.size)) return undefined;
  if (previous.format !== options.format || previous.gzip !== file.gzip) return undefined;
  const location = file.location ?? file.path;
  if (previous.path === file.path && previous.location === location && previous.displayPath === file.displayPath) {
    return previous;
  }
  return { ...previous, path: file.path, location, displayPath: file.displayPath };
}

/**
 * The file's stamp from before it was read, when it can vouch for what was read: not racy, and
 * the same after reading (a change while it was read moved it). Undefined otherwise: the next
 * plan reads the file again.
 */
async function trustworthyStamp(file: SourceFile, racyMarginMs: number): Promise<FileStamp | undefined> {
  const before = file.stamp;
  if (before === undefined || file.endOffset !== undefined || isRacy(before, racyMarginMs)) return undefined;
  const after = await readStamp(file.path).catch(() => undefined);
  return after !== undefined && sameStamp(before, after) ? before : undefined;
}

/**
 * How many leading batches of the previous plan an append-only source may take unread: all but the
 * last (which is still checked), and none when the source is not known to be append-only, is
 * gzip (no seeking), or now ends before the previous plan did (it was truncated).
 */
function trustedBatches(file: SourceFile, reusable: readonly PlannedBatch[]): number {
  const last = reusable[reusable.length - 1];
  if (file.appendOnly !== true || file.gzip || last === undefined) return 0;
  if (last.endOffset > (file.endOffset ?? file.size)) return 0;
  return reusable.length - 1;
}
