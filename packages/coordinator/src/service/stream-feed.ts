/**
 * A streaming job's feed (docs/decisions/0014, 0027): every interval, the records appended to its
 * input stream since the last look become segments — ranges of stream sequence numbers
 * `from..to` — and each segment joins the job's open run as its next batches, with a version
 * committed after it. No run starts or ends per interval: the run stays open, and segments are
 * merged and committed one after the other, overlapping.
 *
 * A segment is written down (durably, in the coordinator's store) before any of it is dispatched,
 * and forgotten only once its version is committed, so after any crash the same ranges run again
 * with the same batch ids: what was committed is skipped, what was not is merged, nothing twice
 * (invariant 1). At most two segments and `maxPendingRecords` records are written down and not
 * committed: when merging falls behind, the rest waits in the stream (backpressure; the lag
 * grows) and the next segment takes all of it at once (up to `maxSegmentRecords`), so the cost of
 * a version is shared by more records when the cluster is slow.
 *
 * With `idleTimeoutMs`, a stream without new records for that long (and nothing pending) gets an
 * *idle mark*: a segment of no records that moves the watermark on by the timeout, so event-time
 * windows close. The mark's watermark is decided once, when it is cut, and written down like a
 * segment: a replay moves the watermark exactly as the first time, whatever the clock says then.
 *
 * ```ts
 * const feed = new StreamFeed({ store, streams, jobName: 'clients', subject: 'logs.web', intervalMs: 250,
 *   source: (segment) => materialize(segment) });
 * await coordinator.runJob({ ...request, open: (run) => feed.feed(run, signal) });
 * ```
 */
import { type Clock, type Logger, type RecordStore, type StreamLog, type StreamStatus, systemClock } from '@mrm/core';
import type { SourceFile } from '@mrm/input';
import type { OpenRun } from '../coordinator.js';
import { JobRecord } from '../job-record.js';

/** Records `from..to` (inclusive) of the stream of `subject`; an idle mark holds none (`to = from − 1`). */
export interface StreamSegment {
  readonly subject: string;
  readonly from: number;
  readonly to: number;
  /** An idle mark: the watermark moves at least to this (decided when the mark was cut). */
  readonly advanceWatermarkMs?: number;
}

/** What the store keeps of a streaming job. */
export interface StreamCursor {
  readonly subject: string;
  /** Next sequence not yet in any segment. */
  readonly nextSeq: number;
  /** Segments written down and not yet committed, oldest first. */
  readonly pending: readonly StreamSegment[];
  /** Records committed so far (for status). */
  readonly committedRecords: number;
  /**
   * Versions of segments the cursor moved past whose batch records are still kept, as ranges
   * `[first, last]` (consecutive versions make one): they go once `--keep-versions` has pruned the
   * version (absent in cursors written before).
   */
  readonly acknowledged?: ReadonlyArray<readonly [number, number]>;
}

/** Options of {@link StreamFeed}. */
export interface StreamFeedOptions {
  /** The coordinator's store: the cursor lives in the job's metadata. */
  readonly store: RecordStore;
  readonly streams: StreamLog;
  readonly jobName: string;
  readonly subject: string;
  /** Milliseconds from one look at the stream to the next. */
  readonly intervalMs: number;
  /** Largest segment, in records (a larger backlog is cut into several). */
  readonly maxSegmentRecords?: number;
  /** Records written down and not committed at most (default four segments). */
  readonly maxPendingRecords?: number;
  /**
   * Segments written down and not committed at most (default {@link DEFAULT_MAX_PENDING_SEGMENTS}):
   * while they are, new records wait and the next segment takes them all, so a slow commit makes
   * segments larger instead of making more of them.
   */
  readonly maxPendingSegments?: number;
  /** Segments one open run takes before it ends and the next starts (bounds a run's bookkeeping). */
  readonly segmentsPerRun?: number;
  /** A stream without new records this long gets an idle mark (absent: the watermark waits for records). */
  readonly idleTimeoutMs?: number;
  /** The input file of a segment of records (read from the stream). */
  readonly source: (segment: StreamSegment) => Promise<SourceFile>;
  /** Lets go of what {@link source} made for a segment (its local file), once it is committed. */
  readonly release?: (segment: StreamSegment) => Promise<void>;
  readonly onProgress?: (progress: StreamStatus) => void;
  readonly clock?: Clock;
  /** Where a failed clean-up after a commit is reported (default: nowhere). */
  readonly logger?: Logger;
}

/** Default largest segment: the feed never reads more than this many records at once. */
export const DEFAULT_MAX_SEGMENT_RECORDS = 100_000;
/** Default segments in flight: one committing while the next is mapped and merged. */
export const DEFAULT_MAX_PENDING_SEGMENTS = 2;
/** Default segments per open run: an hour of one-second intervals. */
export const DEFAULT_SEGMENTS_PER_RUN = 3_600;
const CURSOR_META = 'stream-cursor';

/** The identity of a segment's input: its batch ids hang on it. */
export function segmentIdentity(s: StreamSegment): string {
  return `stream:${s.subject}:${s.from}-${s.to}`;
}

function recordsOf(s: StreamSegment): number {
  return Math.max(0, s.to - s.from + 1);
}

/** `ranges` (sorted, apart) with `versions` added: sorted, and ranges that touch made one. */
function withVersions(
  ranges: ReadonlyArray<readonly [number, number]>,
  versions: readonly number[],
): Array<readonly [number, number]> {
  const all = [...ranges, ...versions.map((v) => [v, v] as const)].sort((a, b) => a[0] - b[0]);
  const out: Array<readonly [number, number]> = [];
  for (const [from, to] of all) {
    const last = out.at(-1);
    if (last !== undefined && from <= last[1] + 1) out[out.length - 1] = [last[0], Math.max(last[1], to)];
    else out.push([from, to]);
  }
  return out;
}

/** The segment of `subject` an input identity names (`stream:<subject>:<from>-<to>`), if it is one. */
function segmentOf(identity: string, subject: string): StreamSegment | undefined {
  const prefix = `stream:${subject}:`;
  if (!identity.startsWith(prefix)) return undefined;
  const m = /^(\d+)-(\d+)$/.exec(identity.slice(prefix.length));
  return m === null ? undefined : { subject, from: Number(m[1]), to: Number(m[2]) };
}

/** Feeds a streaming job's open runs from its input stream. */
export class StreamFeed {
  /** The cursor as it is (written to the store after every change, in order). */
  private state: StreamCursor | undefined;
  private writes: Promise<void> = Promise.resolve();
  private record: JobRecord | undefined;
  private headSeq = 0;
  private runs = 0;
  private committedSegments = 0;
  /** Set by {@link renew}: the open run takes no more segments and ends once they are committed. */
  private renewing = false;

  constructor(private readonly options: StreamFeedOptions) {}

  /** The stored cursor (a fresh one for a job that never streamed from this subject). */
  async cursor(): Promise<StreamCursor> {
    const stored = await this.options.store.getMeta<StreamCursor>(this.options.jobName, CURSOR_META);
    if (stored !== undefined && stored.subject === this.options.subject) return stored;
    // A job that moves to another subject starts that stream from its beginning.
    return { subject: this.options.subject, nextSeq: 1, pending: [], committedRecords: stored?.committedRecords ?? 0 };
  }

  /**
   * Feeds `run`: first the segments written down and not committed (a resume), then every new
   * range of records, until `signal` aborts (a cancel: returns at once), the run ends (returns),
   * a segment fails (rejects), or the run took `segmentsPerRun` segments or {@link renew} was
   * called (returns once those sent are all committed, for the next run to go on).
   */
  async feed(run: OpenRun, signal: AbortSignal): Promise<void> {
    const { clock = systemClock, intervalMs, idleTimeoutMs, segmentsPerRun = DEFAULT_SEGMENTS_PER_RUN } = this.options;
    this.renewing = false;
    const renewal = new AbortController();
    this.onRenew = () => renewal.abort();
    await this.options.streams.ensure(this.options.subject);
    this.state = await this.cursor();
    this.record = new JobRecord(this.options.store, this.options.jobName);
    await this.cleanUpBehind();
    this.runs++;
    const failed = new AbortController();
    const stop = AbortSignal.any([signal, run.signal, failed.signal]);
    let acks: Promise<void> = Promise.resolve();
    let sent = 0;
    const send = async (segment: StreamSegment): Promise<void> => {
      const inputs = recordsOf(segment) > 0 ? [await this.options.source(segment)] : [];
      const committed = run.extend(inputs, segment.advanceWatermarkMs);
      // Its failure reaches the feed through `acks`, maybe later: it is not an unhandled rejection
      // meanwhile (that would end the process).
      committed.catch(() => {});
      sent++;
      // Acknowledged strictly in order: versions commit in the order their segments were sent.
      acks = acks.then(() => committed).then((info) => this.acknowledge(segment, info?.version));
      acks.catch((e: unknown) => {
        if (!failed.signal.aborted) failed.abort(e);
      });
    };
    for (const segment of this.state.pending) await send(segment);
    let lastRecordsAtMs = clock.nowMs();
    while (!stop.aborted && sent < segmentsPerRun && !this.renewing) {
      const started = clock.nowMs();
      let fresh = await this.cut();
      if (fresh.length > 0) lastRecordsAtMs = started;
      else if (idleTimeoutMs !== undefined && started - lastRecordsAtMs >= idleTimeoutMs) {
        fresh = await this.cutIdleMark(run, idleTimeoutMs);
        lastRecordsAtMs = started;
      }
      for (const segment of fresh) if (!stop.aborted) await send(segment);
      this.progress();
      // Records left in the stream for lack of room: the look was due already, so the next one
      // is as soon as an acknowledgement makes room, not at the next tick (which would add up to
      // an interval to every record of a backlog).
      const room = new AbortController();
      if (this.headSeq >= this.current.nextSeq) this.onRoom = () => room.abort();
      const wait = Math.max(0, intervalMs - (clock.nowMs() - started));
      if (!stop.aborted) {
        await clock.sleep(wait, AbortSignal.any([stop, renewal.signal, room.signal])).catch(() => {});
      }
      this.onRoom = () => {};
    }
    this.onRenew = () => {};
    // Cancelled, or the run ended (its own failure says why): what is pending stays written down.
    if (signal.aborted || run.signal.aborted) return;
    if (failed.signal.aborted) throw failed.signal.reason;
    await acks;
  }

  private onRenew: () => void = () => {};
  /** Wakes the feed's sleep when a look left records behind for lack of room (set per sleep). */
  private onRoom: () => void = () => {};

  /**
   * Ends the open run early, as if it had taken its `segmentsPerRun`: it takes no new segment, and
   * `feed` returns once those sent are committed, so that the next run starts — and assigns the
   * partitions anew (a merge worker that joined takes its share, decisions/0025). Nothing is lost:
   * what the stream holds beyond the last segment waits for the next run.
   */
  renew(): void {
    this.renewing = true;
    this.onRenew();
  }

  /** Cuts what was appended since the last look into segments (at most the room left), written down first. */
  private async cut(): Promise<StreamSegment[]> {
    const { streams, subject } = this.options;
    const max = this.options.maxSegmentRecords ?? DEFAULT_MAX_SEGMENT_RECORDS;
    const maxPending = this.options.maxPendingRecords ?? 4 * max;
    const cursor = this.current;
    this.headSeq = (await streams.info(subject))?.lastSeq ?? 0;
    if (cursor.pending.length >= (this.options.maxPendingSegments ?? DEFAULT_MAX_PENDING_SEGMENTS)) return [];
    const room = maxPending - cursor.pending.reduce((n, s) => n + recordsOf(s), 0);
    const through = Math.min(this.headSeq, cursor.nextSeq + room - 1);
    if (through < cursor.nextSeq) return [];
    const fresh: StreamSegment[] = [];
    for (let from = cursor.nextSeq; from <= through; ) {
      const to = Math.min(through, from + max - 1);
      fresh.push({ subject, from, to });
      from = to + 1;
    }
    this.state = { ...cursor, nextSeq: through + 1, pending: [...cursor.pending, ...fresh] };
    await this.persist();
    return fresh;
  }

  /**
   * An idle mark, when nothing is pending and the latest version has a watermark: the watermark
   * moves on by the idle time. Written down before it is sent, like a segment.
   */
  private async cutIdleMark(run: OpenRun, idleTimeoutMs: number): Promise<StreamSegment[]> {
    const cursor = this.current;
    const watermarkMs = run.latest()?.watermarkMs;
    if (cursor.pending.length > 0 || watermarkMs === undefined) return [];
    const mark: StreamSegment = {
      subject: cursor.subject,
      from: cursor.nextSeq,
      to: cursor.nextSeq - 1,
      advanceWatermarkMs: watermarkMs + idleTimeoutMs,
    };
    this.state = { ...cursor, pending: [mark] };
    await this.persist();
    return [mark];
  }

  /**
   * `segment`'s version is committed: it leaves the cursor (the acknowledgement); then what was
   * kept for it goes (its plan, its local file, and the batch records of versions retention has
   * pruned), so a stream's records stay bounded however long it runs.
   */
  private async acknowledge(segment: StreamSegment, version: number | undefined): Promise<void> {
    const first = this.current.pending[0];
    if (first === undefined || first.from !== segment.from || first.to !== segment.to) {
      throw new Error(
        `stream cursor out of order: ${segmentIdentity(segment)} committed before ${first ? segmentIdentity(first) : 'nothing'}`,
      );
    }
    // A replayed segment whose version had committed before the crash (nothing new to merge):
    // the version its batches are recorded in is acknowledged all the same, so that record goes
    // once pruned, like any segment's.
    const versions = version !== undefined ? [version] : await this.versionsOfCommitted(segment);
    const cursor = this.current;
    this.state = {
      ...cursor,
      pending: cursor.pending.slice(1),
      committedRecords: cursor.committedRecords + recordsOf(segment),
      acknowledged: versions.length > 0 ? withVersions(cursor.acknowledged ?? [], versions) : cursor.acknowledged,
    };
    this.committedSegments++;
    await this.persist();
    this.progress();
    this.onRoom();
    // Only after the cursor moved past it: a replay plans a pending segment against its plan.
    try {
      if (recordsOf(segment) > 0) await this.letGo(segment);
      await this.forgetPrunedBatches();
    } catch (e) {
      // Cleaning up is not what the acknowledgement rests on: what stays is only kept too long.
      this.options.logger?.warn('could not delete what a committed stream segment left', {
        job: this.options.jobName,
        segment: segmentIdentity(segment),
        error: String(e),
      });
    }
  }

  /**
   * What was kept for a segment the cursor moved past goes: its local file, then its plan. In
   * that order, so that a plan left behind (the coordinator died in between) still says that
   * something may be left: {@link cleanUpBehind} finishes it.
   */
  private async letGo(segment: StreamSegment): Promise<void> {
    await this.options.release?.(segment);
    await this.store.forgetPlan(segmentIdentity(segment));
  }

  /**
   * At the start of each feed: a coordinator that died after the cursor moved past a segment and
   * before {@link letGo} finished left its plan (and maybe its local file) behind, and no later
   * acknowledgement names that segment again. Every plan of a segment of this subject below the
   * cursor is let go here.
   */
  private async cleanUpBehind(): Promise<void> {
    const cursor = this.current;
    const below = cursor.pending[0]?.from ?? cursor.nextSeq;
    try {
      for (const plan of await this.store.plans()) {
        const segment = segmentOf(plan.identity ?? '', this.options.subject);
        if (segment !== undefined && segment.to < below) await this.letGo(segment);
      }
    } catch (e) {
      this.options.logger?.warn('could not delete what an earlier coordinator left of committed segments', {
        job: this.options.jobName,
        error: String(e),
      });
    }
  }

  /** The versions that hold the batches of `segment` (planned away on a replay: committed before). */
  private async versionsOfCommitted(segment: StreamSegment): Promise<number[]> {
    if (recordsOf(segment) === 0) return [];
    try {
      const plan = await this.store.plan(segmentIdentity(segment));
      if (plan === undefined) return [];
      return await this.store.versionsHolding(new Set(plan.batches.map((b) => b.batchId)));
    } catch (e) {
      // Not what the acknowledgement rests on: the record is only kept too long.
      this.options.logger?.warn('could not find the version of a replayed committed segment', {
        job: this.options.jobName,
        segment: segmentIdentity(segment),
        error: String(e),
      });
      return [];
    }
  }

  /** Batch records of acknowledged versions that `--keep-versions` pruned go (never planned again). */
  private async forgetPrunedBatches(): Promise<void> {
    const acknowledged = this.current.acknowledged ?? [];
    const first = acknowledged[0]?.[0];
    if (first === undefined) return;
    const oldestKept = (await this.options.store.listVersions(this.options.jobName))[0]?.version;
    if (oldestKept === undefined || first >= oldestKept) return;
    const gone: number[] = [];
    const kept: Array<readonly [number, number]> = [];
    for (const [from, to] of acknowledged) {
      for (let v = from; v <= Math.min(to, oldestKept - 1); v++) gone.push(v);
      if (to >= oldestKept) kept.push([Math.max(from, oldestKept), to]);
    }
    await this.store.forgetVersionBatches(gone);
    this.state = { ...this.current, acknowledged: kept };
    await this.persist();
  }

  private get store(): JobRecord {
    if (this.record === undefined) throw new Error('the stream feed has no job record yet');
    return this.record;
  }

  private get current(): StreamCursor {
    if (this.state === undefined) throw new Error('the stream feed has no cursor yet');
    return this.state;
  }

  /** Writes the cursor as it is now, after every earlier write. */
  private persist(): Promise<void> {
    const write = this.writes.then(() => this.options.store.putMeta(this.options.jobName, CURSOR_META, this.current));
    this.writes = write.catch(() => {});
    return write;
  }

  private progress(): void {
    const cursor = this.current;
    const committedSeq = (cursor.pending[0]?.from ?? cursor.nextSeq) - 1;
    const headSeq = Math.max(this.headSeq, committedSeq);
    this.options.onProgress?.({
      subject: this.options.subject,
      headSeq,
      committedSeq,
      lag: headSeq - committedSeq,
      rounds: this.committedSegments,
      runs: this.runs,
    });
  }
}
