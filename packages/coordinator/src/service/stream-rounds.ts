/**
 * A streaming job's rounds: every interval, the records appended to its input stream since the
 * last round become one new segment — a range of stream sequence numbers, `from..to` — and the job
 * runs over every segment not yet committed. A segment is written down (durably, in the
 * coordinator's store) before any of it is dispatched, and forgotten only once a run over it has
 * committed, so after any crash the same ranges run again with the same batch ids: what was
 * committed is skipped, what was not is merged, nothing twice (invariant 1).
 *
 * ```ts
 * const rounds = new StreamRounds({ store, streams, jobName: 'clients', subject: 'logs.web', intervalMs: 500,
 *   runRound: (segments) => coordinator.runJob({ ...request, inputs: await materialize(segments) }) });
 * await rounds.run(signal);   // until the signal aborts
 * ```
 */
import { type Clock, type RecordStore, type StreamLog, type StreamStatus, systemClock } from '@mrm/core';

/** Records `from..to` (inclusive) of the stream of `subject`. */
export interface StreamSegment {
  readonly subject: string;
  readonly from: number;
  readonly to: number;
}

/** What the store keeps of a streaming job between rounds. */
export interface StreamCursor {
  readonly subject: string;
  /** Next sequence not yet in any segment. */
  readonly nextSeq: number;
  /** Segments written down and not yet committed, oldest first. */
  readonly pending: readonly StreamSegment[];
  /** Records committed so far (for status). */
  readonly committedRecords: number;
}

/** Options of {@link StreamRounds}. */
export interface StreamRoundsOptions {
  /** The coordinator's store: the cursor lives in the job's metadata. */
  readonly store: RecordStore;
  readonly streams: StreamLog;
  readonly jobName: string;
  readonly subject: string;
  /** Milliseconds from the start of one round to the start of the next. */
  readonly intervalMs: number;
  /** Largest segment, in records (a round with more new records cuts several). */
  readonly maxSegmentRecords?: number;
  /** Runs the job over these segments; resolves once everything of them is committed. */
  readonly runRound: (segments: readonly StreamSegment[]) => Promise<void>;
  readonly onProgress?: (progress: StreamStatus) => void;
  readonly clock?: Clock;
}

/** Default largest segment: a round never reads more than this many records at once. */
export const DEFAULT_MAX_SEGMENT_RECORDS = 100_000;
const CURSOR_META = 'stream-cursor';

/** The identity of a segment's input: its batch ids hang on it. */
export function segmentIdentity(s: StreamSegment): string {
  return `stream:${s.subject}:${s.from}-${s.to}`;
}

/** Drives a streaming job's rounds until aborted. */
export class StreamRounds {
  private rounds = 0;

  constructor(private readonly options: StreamRoundsOptions) {}

  /** The stored cursor (a fresh one for a job that never streamed from this subject). */
  async cursor(): Promise<StreamCursor> {
    const stored = await this.options.store.getMeta<StreamCursor>(this.options.jobName, CURSOR_META);
    if (stored !== undefined && stored.subject === this.options.subject) return stored;
    // A job that moves to another subject starts that stream from its beginning.
    return { subject: this.options.subject, nextSeq: 1, pending: [], committedRecords: stored?.committedRecords ?? 0 };
  }

  /** Runs rounds until `signal` aborts; a failing round rejects (the job fails, the cursor stays). */
  async run(signal: AbortSignal): Promise<void> {
    const clock = this.options.clock ?? systemClock;
    await this.options.streams.ensure(this.options.subject);
    while (!signal.aborted) {
      const started = clock.nowMs();
      await this.round();
      const wait = Math.max(0, this.options.intervalMs - (clock.nowMs() - started));
      if (!signal.aborted) await clock.sleep(wait, signal).catch(() => {});
    }
  }

  /** One round: cut what is new into segments (written down first), then run what is pending. */
  async round(): Promise<void> {
    const { store, streams, jobName, subject } = this.options;
    const max = this.options.maxSegmentRecords ?? DEFAULT_MAX_SEGMENT_RECORDS;
    let cursor = await this.cursor();
    const head = (await streams.info(subject))?.lastSeq ?? 0;
    if (head >= cursor.nextSeq) {
      const pending = [...cursor.pending];
      let from = cursor.nextSeq;
      while (from <= head) {
        const to = Math.min(head, from + max - 1);
        pending.push({ subject, from, to });
        from = to + 1;
      }
      cursor = { ...cursor, nextSeq: head + 1, pending };
      await store.putMeta(jobName, CURSOR_META, cursor);
    }
    if (cursor.pending.length > 0) {
      await this.options.runRound(cursor.pending);
      const records = cursor.pending.reduce((n, s) => n + s.to - s.from + 1, 0);
      cursor = { ...cursor, pending: [], committedRecords: cursor.committedRecords + records };
      await store.putMeta(jobName, CURSOR_META, cursor);
    }
    this.rounds++;
    this.options.onProgress?.({
      subject,
      headSeq: head,
      committedSeq: cursor.nextSeq - 1,
      lag: Math.max(0, head - (cursor.nextSeq - 1)),
      rounds: this.rounds,
    });
  }
}
