/**
 * The watermark of a windowed job with allowed lateness (docs/decisions/0022). It is a function of
 * the batches alone, never of a clock: after batch n,
 *
 * ```
 * W(n) = max(W(n-1), latest event time in batch n − lateness)      W before any batch: none
 * ```
 *
 * A window `[start, end)` is **final** once `end ≤ W`. A record of batch n is **late** when the
 * last window it falls in was final at `W(n-1)` (the watermark of the batch before it): it is
 * counted, not merged. Final windows leave the state once `end ≤ W − retain`.
 *
 * The map side tallies each batch's event times ({@link EventTimeTally}) and sends them on the
 * batch's end markers ({@link BatchEventTimes}); each partition on the merge side, merging batches
 * in order, keeps its own {@link Watermark} — all partitions see the same markers in the same order,
 * so they agree on W at every batch without talking to each other. W travels with every committed
 * version (`VersionInfo.watermarkMs`) and a run starts from its base version's.
 */
import { MAX_DEAD_LETTERS_PER_BATCH } from './dead-letter.js';
import type { MapContext } from './job.js';
import type { CanonicalKey } from './key.js';
import type { ResolvedWindow } from './window.js';

/** Event times of one batch, on its batch-end markers (jobs with `window.lateness` only). */
export interface BatchEventTimes {
  /** Latest event time in the batch (ms since the epoch); absent when no record had one. */
  readonly maxMs?: number;
  /**
   * Partition 0's marker only: records per window end — the end of the last window a record falls
   * in; the record is late when that end is at or before the watermark — flat `[endMs, records, …]`,
   * oldest end first.
   */
  readonly ends?: readonly number[];
  /**
   * Partition 0's marker only, with `onError: 'skip'`: lines of the records in the oldest windows
   * (the ones that can be late first), flat `[endMs, line, …]`, at most
   * {@link MAX_DEAD_LETTERS_PER_BATCH} records.
   */
  readonly lines?: readonly number[];
  /** With `lines`: the input they are lines of. */
  readonly source?: string;
}

/** One batch's event times on the map side. */
export class EventTimeTally {
  private maxMs = Number.NEGATIVE_INFINITY;
  private readonly byEnd = new Map<number, { records: number; lines: number[] }>();

  /** `keepLines`: remember records' lines, so late ones can become dead letters. */
  constructor(private readonly keepLines: boolean) {}

  /** A record at `timeMs` whose last window ends at `lastEndMs`, on `line`. */
  add(timeMs: number, lastEndMs: number, line: number): void {
    if (timeMs > this.maxMs) this.maxMs = timeMs;
    let slot = this.byEnd.get(lastEndMs);
    if (slot === undefined) {
      slot = { records: 0, lines: [] };
      this.byEnd.set(lastEndMs, slot);
    }
    slot.records++;
    if (this.keepLines && slot.lines.length < MAX_DEAD_LETTERS_PER_BATCH) slot.lines.push(line);
  }

  /** What the markers carry: `all` on every partition's, `first` on partition 0's. */
  finish(source: string): { all: BatchEventTimes; first: BatchEventTimes } {
    if (this.byEnd.size === 0) return { all: {}, first: {} };
    const ends: number[] = [];
    const lines: number[] = [];
    let kept = 0;
    for (const end of [...this.byEnd.keys()].sort((a, b) => a - b)) {
      const slot = this.byEnd.get(end) as { records: number; lines: number[] };
      ends.push(end, slot.records);
      for (const line of slot.lines) {
        if (kept >= MAX_DEAD_LETTERS_PER_BATCH) break;
        lines.push(end, line);
        kept++;
      }
    }
    const all = { maxMs: this.maxMs };
    return { all, first: { ...all, ends, ...(this.keepLines ? { lines, source } : {}) } };
  }
}

/** The tally of the batch a map context belongs to (set by the map worker for the batch). */
const tallies = new WeakMap<MapContext, EventTimeTally>();

/** Makes `windowedMap` tally the event times of the records mapped with `ctx`. */
export function trackEventTimes(ctx: MapContext, tally: EventTimeTally): void {
  tallies.set(ctx, tally);
}

/** The tally the records mapped with `ctx` go to, if any. */
export function eventTimeTallyOf(ctx: MapContext): EventTimeTally | undefined {
  return tallies.get(ctx);
}

/** The window start (ms) of a windowed job's stored key `["<ISO start>", key]`; undefined otherwise. */
export function windowStartOfKey(ck: CanonicalKey): number | undefined {
  if (!ck.startsWith('["')) return undefined;
  const close = ck.indexOf('"', 2);
  if (close < 0) return undefined;
  const ms = Date.parse(ck.slice(2, close));
  return Number.isNaN(ms) ? undefined : ms;
}

/** A start at or before `cutoffMs` (as ISO text, when both are plain 24-character ISO texts). */
class StartCutoff {
  private readonly iso: string | undefined;

  constructor(readonly cutoffMs: number) {
    const iso = Number.isFinite(cutoffMs) ? new Date(cutoffMs).toISOString() : undefined;
    this.iso = iso?.length === 24 ? iso : undefined;
  }

  /** True when the window of key `ck` starts at or before the cutoff. */
  covers(ck: CanonicalKey): boolean {
    // The common case without parsing: `["YYYY-MM-DDTHH:mm:ss.sssZ",…` compares as text.
    if (this.iso !== undefined && ck.charCodeAt(26) === 34 && ck.charCodeAt(2) <= 57 && ck.charCodeAt(2) >= 48) {
      return ck.slice(2, 26) <= this.iso;
    }
    const start = windowStartOfKey(ck);
    return start !== undefined && start <= this.cutoffMs;
  }
}

/** Late records of one batch: how many, and the lines kept of them. */
export interface LateRecords {
  readonly records: number;
  /** `[windowEndMs, line]` of late records whose lines the marker carried. */
  readonly lines: ReadonlyArray<readonly [number, number]>;
}

/** The watermark as one partition merges batches in order. */
export class Watermark {
  private closed: StartCutoff | undefined;

  /** `watermarkMs`: W of the version the run starts from (undefined: none yet). */
  constructor(
    private readonly window: ResolvedWindow & { readonly latenessMs: number },
    private current: number | undefined,
  ) {
    this.closed = this.cutoffOf(current);
  }

  /** W now (after every batch taken so far); undefined before any event time. */
  get watermarkMs(): number | undefined {
    return this.current;
  }

  private cutoffOf(w: number | undefined): StartCutoff | undefined {
    // Window [start, start + size) is final when start + size ≤ W.
    return w === undefined ? undefined : new StartCutoff(w - this.window.sizeMs);
  }

  /** True when `ck` belongs to a final window: its values are late and are not merged. */
  isFinal(ck: CanonicalKey): boolean {
    return this.closed?.covers(ck) ?? false;
  }

  /** The late records of a batch about to be merged (from its partition-0 marker's tally). */
  lateIn(times: BatchEventTimes | undefined): LateRecords {
    const w = this.current;
    const ends = times?.ends;
    if (w === undefined || ends === undefined) return { records: 0, lines: [] };
    let records = 0;
    for (let i = 0; i + 1 < ends.length && (ends[i] as number) <= w; i += 2) records += ends[i + 1] as number;
    const lines: Array<readonly [number, number]> = [];
    const kept = times?.lines ?? [];
    for (let i = 0; i + 1 < kept.length && (kept[i] as number) <= w; i += 2) {
      lines.push([kept[i] as number, kept[i + 1] as number]);
    }
    return { records, lines };
  }

  /** Moves W on past a merged batch. */
  advance(times: BatchEventTimes | undefined): void {
    const max = times?.maxMs;
    if (max === undefined) return;
    const next = max - this.window.latenessMs;
    if (this.current !== undefined && next <= this.current) return;
    this.current = next;
    this.closed = this.cutoffOf(next);
  }

  /**
   * Moves W on to at least `ms`, whatever the batches said: the advance of an idle stream, which
   * the coordinator recorded in the run's plan (so a replay moves it the same way). Nothing
   * happens before the first event time (there is no W to move).
   */
  advanceTo(ms: number): void {
    if (this.current === undefined || ms <= this.current) return;
    this.current = ms;
    this.closed = this.cutoffOf(ms);
  }

  /**
   * Windows that leave the state now: those starting at or before the returned cutoff (ms), i.e.
   * ending at or before `W − retain`. Undefined when final windows are kept or there is no W yet.
   */
  dropCutoffMs(): number | undefined {
    const { retainMs, sizeMs } = this.window;
    if (retainMs === undefined || this.current === undefined) return undefined;
    return this.current - retainMs - sizeMs;
  }

  /** A test for keys whose window starts at or before `cutoffMs`. */
  static startsAtOrBefore(cutoffMs: number): (ck: CanonicalKey) => boolean {
    const cutoff = new StartCutoff(cutoffMs);
    return (ck) => cutoff.covers(ck);
  }
}

/** The watermark of a job's partition, when its window has a lateness. */
export function watermarkOf(window: ResolvedWindow | undefined, startMs: number | undefined): Watermark | undefined {
  if (window?.latenessMs === undefined) return undefined;
  return new Watermark(window as ResolvedWindow & { latenessMs: number }, startMs);
}
