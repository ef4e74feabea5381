/**
 * Event-time windows. A job that declares `window` has its records assigned to windows by their
 * event time; every pair its `map` emits is keyed by the window beside the job's own key:
 * `emit(k, v)` for a record at 10:03 in a 10-minute tumbling window stores `["…T10:00:00.000Z", k]`.
 *
 * ```ts
 * export default defineJob({
 *   name: 'ips-per-10-minutes',
 *   window: { time: (line: string) => parseLogTime(line), size: '10m' },
 *   map(line: string, emit) { emit('ips', ipOf(line)); },
 *   ...aggregates.approxDistinct(),
 * });
 * ```
 *
 * Window assignment is a function of the record alone, so it is deterministic: a replayed batch
 * lands in the same windows, and every built-in aggregate works inside windows unchanged.
 */
import { ErrorCode, MrmError } from './errors.js';
import type { Emit, MapContext } from './job.js';
import type { Key } from './key.js';
import { eventTimeTallyOf } from './watermark.js';

/** A duration: milliseconds, or text such as `'500ms'`, `'30s'`, `'10m'`, `'1h'`, `'1d'`. */
export type Duration = number | string;

/** An event time: milliseconds since the Unix epoch, a `Date`, or an ISO 8601 / RFC 2822 text. */
export type EventTime = number | Date | string;

/** The `window` field of a job spec. */
export interface WindowSpec<In = any> {
  /** The record's event time. Called once per record, on the map side. */
  time: (record: In, ctx: MapContext) => EventTime;
  /** Window length. */
  size: Duration;
  /** Distance between window starts (default: `size`, a tumbling window). At most `size`. */
  slide?: Duration;
  /** Origin of the window grid (default: the Unix epoch); windows start at `offset + n·slide`. */
  offset?: Duration;
  /**
   * Allowed lateness: turns on the watermark (the latest event time merged so far minus this).
   * A window whose end is at or before the watermark is final; a record that arrives when all
   * its windows are final is late: counted, not merged (a dead letter with `--on-error skip`).
   * Absent: no watermark, every record is merged, no window is ever final. Needs `merge`.
   */
  lateness?: Duration;
  /**
   * How long final windows stay in the state, in event time past the watermark: `'all'`
   * (default) keeps them, `0` drops a window as soon as it is final, `'1h'` an hour after.
   * Needs `lateness`.
   */
  retain?: Duration | 'all';
}

/** A validated window: durations in milliseconds. */
export interface ResolvedWindow {
  readonly time: (record: unknown, ctx: MapContext) => EventTime;
  readonly sizeMs: number;
  readonly slideMs: number;
  readonly offsetMs: number;
  /** Allowed lateness; absent: no watermark. */
  readonly latenessMs?: number;
  /** Final windows are dropped once their end is this far behind the watermark; absent: kept. */
  readonly retainMs?: number;
}

const WINDOW_FIELDS = ['time', 'size', 'slide', 'offset', 'lateness', 'retain'];
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/** Milliseconds of a {@link Duration}; throws `E_JOB_INVALID` naming `what` when it is not one. */
export function durationMs(value: unknown, what: string): number {
  let ms: number | undefined;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const m = DURATION.exec(value.trim());
    if (m !== null) ms = Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < 0 || !Number.isInteger(ms)) {
    throw new MrmError(
      ErrorCode.JobInvalid,
      `${what} must be a whole number of milliseconds or a text like '30s', '10m', '1h' (got ${JSON.stringify(value)})`,
    );
  }
  return ms;
}

/** Validates a job's `window` field; `where` names the job in messages. */
export function resolveWindow(spec: unknown, where: string): ResolvedWindow {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new MrmError(ErrorCode.JobInvalid, `${where}: window must be an object { time, size, slide? }`);
  }
  const s = spec as Record<string, unknown>;
  for (const field of Object.keys(s)) {
    if (!WINDOW_FIELDS.includes(field)) {
      throw new MrmError(
        ErrorCode.JobInvalid,
        `${where}: unknown window field '${field}' (known: ${WINDOW_FIELDS.join(', ')})`,
      );
    }
  }
  if (typeof s.time !== 'function') {
    throw new MrmError(ErrorCode.JobInvalid, `${where}: window.time must be a function (record) => event time`);
  }
  const sizeMs = durationMs(s.size, `${where}: window.size`);
  const slideMs = s.slide === undefined ? sizeMs : durationMs(s.slide, `${where}: window.slide`);
  const offsetMs = s.offset === undefined ? 0 : durationMs(s.offset, `${where}: window.offset`);
  if (sizeMs === 0 || slideMs === 0) {
    throw new MrmError(ErrorCode.JobInvalid, `${where}: window.size and window.slide must be above zero`);
  }
  if (slideMs > sizeMs) {
    throw new MrmError(
      ErrorCode.JobInvalid,
      `${where}: window.slide (${slideMs} ms) must not exceed window.size (${sizeMs} ms)`,
    );
  }
  if (sizeMs / slideMs > 1000) {
    throw new MrmError(ErrorCode.JobInvalid, `${where}: a record would fall in more than 1000 windows (size ÷ slide)`);
  }
  const latenessMs = s.lateness === undefined ? undefined : durationMs(s.lateness, `${where}: window.lateness`);
  const retainMs =
    s.retain === undefined || s.retain === 'all' ? undefined : durationMs(s.retain, `${where}: window.retain`);
  if (s.retain !== undefined && latenessMs === undefined) {
    throw new MrmError(
      ErrorCode.JobInvalid,
      `${where}: window.retain needs window.lateness (without a watermark no window is ever final)`,
    );
  }
  // Absent fields stay absent: the code fingerprint of a window without lateness is unchanged.
  return Object.freeze({
    time: s.time as ResolvedWindow['time'],
    sizeMs,
    slideMs,
    offsetMs,
    ...(latenessMs !== undefined ? { latenessMs } : {}),
    ...(retainMs !== undefined ? { retainMs } : {}),
  });
}

/** Milliseconds since the epoch of an {@link EventTime}, or `undefined` when it is not a time. */
export function eventTimeMs(t: unknown): number | undefined {
  let ms: number;
  if (typeof t === 'number') ms = t;
  else if (t instanceof Date) ms = t.getTime();
  else if (typeof t === 'string') ms = Date.parse(t);
  else return undefined;
  return Number.isFinite(ms) ? ms : undefined;
}

/** Start times (ms) of the windows that contain `t`, oldest first. */
export function windowStartsOf(t: number, w: ResolvedWindow): number[] {
  const last = Math.floor((t - w.offsetMs) / w.slideMs) * w.slideMs + w.offsetMs;
  const starts: number[] = [];
  for (let start = last - Math.ceil(w.sizeMs / w.slideMs - 1) * w.slideMs; start <= last; start += w.slideMs) {
    if (t >= start && t < start + w.sizeMs) starts.push(start);
  }
  return starts;
}

/** The key under which a windowed job stores `key` of the window starting at `startMs`. */
export function windowedKey(startMs: number, key: Key): Key {
  return [new Date(startMs).toISOString(), key];
}

function copyOf<V>(v: V): V {
  return typeof v === 'object' && v !== null ? structuredClone(v) : v;
}

/**
 * Wraps a job's `map` so that every pair it emits for a record goes to each window the record's
 * event time falls in. A record whose `time` gives no valid time is an error of that record
 * (counted as skipped with `--on-error skip`).
 */
export function windowedMap(
  map: (record: unknown, emit: Emit, ctx: MapContext) => void | Promise<void>,
  w: ResolvedWindow,
): (record: unknown, emit: Emit, ctx: MapContext) => void | Promise<void> {
  const mapWindowed = (record: unknown, emit: Emit, ctx: MapContext, starts: number[]) => {
    if (starts.length === 1) {
      const start = starts[0] as number;
      return map(record, (k, v) => emit(windowedKey(start, k), v), ctx);
    }
    // One value goes to several windows: each gets its own copy, since `fold` may update a value in place.
    return map(
      record,
      (k, v) => {
        const last = starts.length - 1;
        for (let i = 0; i < last; i++) emit(windowedKey(starts[i] as number, k), copyOf(v));
        emit(windowedKey(starts[last] as number, k), v);
      },
      ctx,
    );
  };
  return (record, emit, ctx) => {
    const raw = w.time(record, ctx);
    const t = eventTimeMs(raw);
    if (t === undefined) throw new Error(`window.time returned ${String(raw)}, not a time`);
    const starts = windowStartsOf(t, w);
    const result = mapWindowed(record, emit, ctx, starts);
    // After map returned: a record whose map threw is a dead letter of map, not a late record too.
    if (w.latenessMs !== undefined) eventTimeTallyOf(ctx)?.add(t, (starts.at(-1) as number) + w.sizeMs, ctx.line);
    return result;
  };
}
