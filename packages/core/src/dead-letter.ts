/**
 * Dead letters: records and keys set aside because user code threw on them (or returned a value
 * the codec cannot carry) while the job runs with `onError: 'skip'`. A dead letter is written with
 * the partition state of the version that skipped it, in the same transaction, so a replayed batch
 * never records it twice and a rolled-back version forgets it.
 */

/**
 * The user function that failed (`input`: a record that could not be parsed, e.g. bad JSON;
 * `late`: a record of a windowed job that arrived after its windows were final).
 */
export type DeadLetterStage = 'input' | 'map' | 'combine' | 'reduce' | 'merge' | 'late';

/** One record or key set aside. */
export interface DeadLetter {
  /** The function that threw (or returned a value that cannot be stored). */
  readonly stage: DeadLetterStage;
  /** Stable id of the batch it belongs to. */
  readonly batchId: string;
  /** Input path as given (map), when known. */
  readonly source?: string;
  /** 1-based line of the record in `source` (lines and jsonl input), when known. */
  readonly line?: number;
  /** Byte offset of the record in `source`, when known. */
  readonly offset?: number;
  /** Canonical key (JSON text) the function failed on (combine, reduce, merge). */
  readonly key?: string;
  /** The error's message, one line. */
  readonly message: string;
  /** When it was set aside (ms since the epoch). */
  readonly atMs: number;
}

/** A dead letter as stored: with the version and partition that recorded it. */
export interface StoredDeadLetter extends DeadLetter {
  readonly version: number;
  readonly partition: number;
}

/** Most dead letters one (batch, partition) keeps; beyond it they are counted, not kept. */
export const MAX_DEAD_LETTERS_PER_BATCH = 1000;
