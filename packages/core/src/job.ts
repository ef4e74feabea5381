/**
 * The job API: what a user writes. A job file's default export is a {@link JobSpec};
 * {@link defineJob} is an identity helper that gives it types.
 *
 * ```ts
 * import { defineJob, aggregates } from '@mrm/core';
 * export default defineJob({
 *   name: 'wordcount',
 *   map(line: string, emit) { for (const w of line.match(/[A-Za-z]+/g) ?? []) emit(w, 1); },
 *   ...aggregates.sum(),
 * });
 * ```
 */
import type { Key } from './key.js';
import type { SaltSetting } from './salting.js';
import type { WindowSpec } from './window.js';

/** Input formats. `lines`: each line without its terminator; `jsonl`: each non-empty line parsed. */
export const InputFormat = { Lines: 'lines', Jsonl: 'jsonl' } as const;
/** One of the {@link InputFormat} values. */
export type InputFormat = (typeof InputFormat)[keyof typeof InputFormat];

/** Emits one key/value pair from `map`. */
export type Emit<V = unknown> = (key: Key, value: V) => void;

/** What `map` learns about the record it is given. */
export interface MapContext {
  /** The input path as given on the command line (or the path inside a folder/glob). */
  readonly source: string;
  /** 1-based line number of the record in its source. */
  readonly line: number;
  /** The stable id of the batch the record belongs to. */
  readonly batchId: string;
}

/**
 * Combines the parts of a built-in or user aggregate: `combine`, `reduce`, `merge` and
 * `finalize` (turns stored state into the value a query returns).
 */
export interface AggregateParts<V = unknown, R = unknown, S = unknown, O = unknown> {
  combine?: (key: Key, values: V[]) => V;
  fold?: (key: Key, acc: V | undefined, value: V) => V;
  reduce: (key: Key, values: V[]) => R;
  merge?: (key: Key, prev: S | undefined, next: R) => S | undefined;
  finalize?: (key: Key, state: S) => O;
}

/**
 * A job. `reduce` is required. With `merge` the job is incremental: each batch is reduced and
 * merged into the stored state; without it the job is plain MapReduce over each run's input.
 *
 * Type parameters: `In` the record, `V` emitted values, `R` reduce output, `S` merged state,
 * `O` what queries return (after `finalize`, default the state itself).
 */
export interface JobSpec<In = any, V = any, R = any, S = any, O = any> {
  /** `[a-z0-9][a-z0-9_-]*`, at most 64 characters. Names the job's state. */
  name: string;
  /** `lines` (default) or `jsonl`. */
  input?: InputFormat;
  /** Called once per record; emits key/value pairs. May be async. */
  map: (record: In, emit: Emit<V>, ctx: MapContext) => void | Promise<void>;
  /** Optional map-side pre-aggregation; must return a value of the emitted type. */
  combine?: (key: Key, values: V[]) => V;
  /**
   * Optional fast path of `combine`, one value at a time: folds `value` (emitted, or itself
   * combined) into `acc`, the key's combined value so far (`undefined` at first), and returns
   * the new combined value; it may update `acc` in place. Must give what `combine` gives:
   * `fold(k, acc, v)` ≡ `combine(k, [acc, v])`. Used instead of lists of values when present.
   */
  fold?: (key: Key, acc: V | undefined, value: V) => V;
  /** Required: all values of a key in a batch (after combine) to one result. */
  reduce: (key: Key, values: V[]) => R;
  /** Optional: folds a batch's result into the key's state. Returning `undefined` deletes the key. */
  merge?: (key: Key, prev: S | undefined, next: R) => S | undefined;
  /** Optional: turns stored state into the value results and queries show. */
  finalize?: (key: Key, state: S) => O;
  /** Optional description shown by `mrm status`. */
  description?: string;
  /**
   * Optional: part of the fingerprint of the code that builds the state (docs/job-api.md). Change
   * it when what the state means changes in a way the source of `combine`, `fold`, `reduce` and
   * `merge` does not show (a value they capture from elsewhere): the next run is then refused
   * until `--reset` (or `--allow-code-change`). Built-in aggregates need none: `topK(3)` and
   * `topK(5)` already differ.
   */
  stateVersion?: string | number;
  /** Number of partitions of the job's state (default 16). Fixed at the first run. */
  partitions?: number;
  /**
   * Spreading hot keys over several merge workers (docs/job-api.md): `'auto'` (default) salts
   * the keys the map side finds hot, `false` never salts, `{ factor, keys? }` salts the named
   * keys (or the detected ones) over `factor` sub-keys. The result is the same either way.
   */
  salt?: SaltSetting;
  /**
   * Optional event-time window: each emitted key is stored per window, as
   * `[windowStart (ISO 8601, UTC), key]`. See {@link WindowSpec}.
   */
  window?: WindowSpec<In>;
}

/** Identity helper that types a job spec. A plain object works too. */
export function defineJob<In = any, V = any, R = any, S = any, O = any>(
  spec: JobSpec<In, V, R, S, O>,
): JobSpec<In, V, R, S, O> {
  return spec;
}
