/**
 * The Hadoop-style baseline's parameters: Hadoop MapReduce's defaults, with the data-size ones
 * divided by 4 (a 32 MiB split instead of a 128 MiB HDFS block, and the sort buffer in the same
 * proportion) and the parallel ones set to this machine's cores, as a YARN node manager with one
 * vcore per task would run them. docs/baselines.md gives each one's Hadoop name.
 */
import { availableParallelism } from 'node:os';
import { ErrorCode, MrmError } from '@mrm/core';

const MIB = 1024 * 1024;

/** Bytes of input per map task (Hadoop: `dfs.blocksize` = 128 MiB, here ÷ 4). */
export const DEFAULT_SPLIT_BYTES = 32 * MIB;
/** The map side's sort buffer (Hadoop: `mapreduce.task.io.sort.mb` = 100 MiB, here ÷ 4). */
export const DEFAULT_SORT_BUFFER_BYTES = 25 * MIB;
/** Fill level of the sort buffer that starts a spill (`mapreduce.map.sort.spill.percent`). */
export const DEFAULT_SPILL_PERCENT = 0.8;
/** Runs merged at a time (`mapreduce.task.io.sort.factor`). */
export const DEFAULT_SORT_FACTOR = 10;
/** Spills from which the combiner also runs while merging them (`mapreduce.map.combine.minspills`). */
export const DEFAULT_MIN_SPILLS_FOR_COMBINE = 3;
/** Map outputs a reducer fetches at once (`mapreduce.reduce.shuffle.parallelcopies`). */
export const DEFAULT_PARALLEL_COPIES = 5;
/** Bytes of metadata Hadoop's sort buffer keeps per record besides the serialized pair (kvmeta). */
export const RECORD_METADATA_BYTES = 16;

/** Options of the Hadoop-style baseline (all optional). */
export interface HadoopOptions {
  readonly splitBytes?: number;
  readonly sortBufferBytes?: number;
  readonly spillPercent?: number;
  readonly sortFactor?: number;
  readonly minSpillsForCombine?: number;
  /** Reduce tasks (`mapreduce.job.reduces`; Hadoop's default is 1, here one per core). */
  readonly reducers?: number;
  readonly parallelCopies?: number;
  /** Tasks running at once (containers), default one per core. */
  readonly slots?: number;
}

/** Options with every default filled in. */
export type ResolvedHadoopOptions = Required<HadoopOptions>;

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new MrmError(ErrorCode.BadOption, `${name} must be a positive integer, got ${value}`);
  return value;
}

/** Validates the options and fills the defaults. Throws `E_BAD_OPTION` naming the bad one. */
export function resolveHadoopOptions(options: HadoopOptions = {}): ResolvedHadoopOptions {
  const cores = availableParallelism();
  const spillPercent = options.spillPercent ?? DEFAULT_SPILL_PERCENT;
  if (!(spillPercent > 0 && spillPercent <= 1))
    throw new MrmError(ErrorCode.BadOption, `spill percent must be in (0, 1], got ${spillPercent}`);
  const sortFactor = positiveInteger('sort factor', options.sortFactor ?? DEFAULT_SORT_FACTOR);
  if (sortFactor < 2) throw new MrmError(ErrorCode.BadOption, `sort factor must be at least 2, got ${sortFactor}`);
  return {
    splitBytes: positiveInteger('split size', options.splitBytes ?? DEFAULT_SPLIT_BYTES),
    sortBufferBytes: positiveInteger('sort buffer', options.sortBufferBytes ?? DEFAULT_SORT_BUFFER_BYTES),
    spillPercent,
    sortFactor,
    minSpillsForCombine: positiveInteger(
      'min spills for combine',
      options.minSpillsForCombine ?? DEFAULT_MIN_SPILLS_FOR_COMBINE,
    ),
    reducers: positiveInteger('reducers', options.reducers ?? cores),
    parallelCopies: positiveInteger('parallel copies', options.parallelCopies ?? DEFAULT_PARALLEL_COPIES),
    slots: positiveInteger('slots', options.slots ?? cores),
  };
}
