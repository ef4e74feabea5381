/**
 * The StreamLog port: append-only logs of records, one per subject, each record numbered by a
 * sequence that never changes (JetStream streams in the NATS adapter). Streaming jobs read them in
 * sequence ranges: a micro-batch is "records `from`..`to` of subject s", so its identity is stable
 * and a replay after any crash reads the same records.
 */

/** One record of a stream. */
export interface StreamRecord {
  /** 1, 2, 3… in the order the records were appended. */
  readonly seq: number;
  readonly data: Uint8Array;
}

/** Where a stream stands. */
export interface StreamInfo {
  /** Sequence of the first record still kept (1 when nothing was ever removed; 0 when empty). */
  readonly firstSeq: number;
  /** Sequence of the newest record (0 when empty). */
  readonly lastSeq: number;
}

/** Append-only record logs, by subject. */
export interface StreamLog {
  /** Creates the stream of `subject` when it does not exist. */
  ensure(subject: string): Promise<void>;
  /** Appends records in order; resolves with the last one's sequence once all are durable. */
  append(subject: string, records: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<number>;
  /** Where the stream of `subject` stands; `undefined` when it does not exist. */
  info(subject: string): Promise<StreamInfo | undefined>;
  /** The records with sequence `from`..`to` (inclusive), in order. */
  read(subject: string, from: number, to: number, signal?: AbortSignal): AsyncIterable<StreamRecord>;
}

/** Subjects a stream may be published on: dot-separated tokens of letters, digits, `_` and `-`. */
export const STREAM_SUBJECT_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
