/**
 * What the driver tells a task process: the job bundle, the task's input and where its output
 * goes. Passed as one JSON argument; a task prints one JSON line of counters when done.
 */
import type { InputSplit } from '../read-split.js';
import type { ResolvedHadoopOptions } from './hadoop-options.js';

/** A map task. */
export interface MapTaskSpec {
  readonly kind: 'map';
  readonly task: number;
  /** The materialized job bundle (an ES module whose default export is the job). */
  readonly bundlePath: string;
  readonly split: InputSplit;
  /** The task's local directory: spills, then `file.out` and `file.out.index`. */
  readonly dir: string;
  readonly options: ResolvedHadoopOptions;
}

/** A reduce task. */
export interface ReduceTaskSpec {
  readonly kind: 'reduce';
  readonly task: number;
  readonly bundlePath: string;
  /** Every map task's output directory (each holds `file.out` and `file.out.index`). */
  readonly mapOutputs: readonly string[];
  /** The task's local directory for fetched segments and merge passes. */
  readonly dir: string;
  /** Where the task writes `part-r-<n>` (its attempt directory, committed by the driver). */
  readonly attemptDir: string;
  readonly options: ResolvedHadoopOptions;
}

/** One task. */
export type TaskSpec = MapTaskSpec | ReduceTaskSpec;

/** What a task reports. */
export interface TaskCounters {
  readonly records: number;
  readonly outputRecords: number;
  readonly spills: number;
  readonly bytesWritten: number;
}

/** The name of a map task's output file in its directory. */
export const MAP_OUTPUT_FILE = 'file.out';
/** The name of its index. */
export const MAP_OUTPUT_INDEX = 'file.out.index';

/** The name of reduce task `n`'s output part. */
export function partName(n: number): string {
  return `part-r-${String(n).padStart(5, '0')}`;
}
