/**
 * What the record-at-a-time baseline's spout and bolts say over NATS. Every key/value pair is
 * its own `pair` message to the bolt that owns the key, answered by an empty ack once the bolt
 * has applied it to its state; `finish` makes a bolt write its state as an output part.
 */

/** A bolt's start-up arguments (one JSON argument). */
export interface BoltSpec {
  readonly natsUrl: string;
  /** The subject this bolt listens on. */
  readonly subject: string;
  readonly bundlePath: string;
  /** The bolt's LMDB state (kept across runs of an incremental job). */
  readonly statePath: string;
  /** Where `finish` writes the bolt's result part. */
  readonly partPath: string;
}

/** The subject of bolt `n` of run `run`. */
export function boltSubject(run: string, n: number): string {
  return `mrm.records.${run}.bolt-${n}`;
}

/** Header byte of a message to a bolt. */
export const BoltMessage = { Pair: 1, Finish: 2 } as const;

/** What a bolt answers to `finish`. */
export interface BoltSummary {
  readonly pairs: number;
  readonly keys: number;
}
