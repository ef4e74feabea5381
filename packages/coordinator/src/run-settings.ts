/**
 * The tuning of one run: {@link RunJobOptions} in, validated {@link RunSettings} out, with every
 * default a named constant (the CLI's help text reads them).
 */
import {
  DEFAULT_KEEP_VERSIONS,
  ErrorCode,
  KEEP_ALL_VERSIONS,
  MrmError,
  parseSaltOption,
  type ResolvedSalt,
} from '@mrm/core';
import {
  DEFAULT_BATCH_LINES,
  DEFAULT_CHECKPOINT_EVERY_BATCHES,
  DEFAULT_MAX_BUFFER_BYTES,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_STALL_TIMEOUT_MS,
  DEFAULT_TASKS_IN_FLIGHT_PER_MAP_WORKER,
  MIN_DEFAULT_BATCHES_AHEAD,
} from './defaults.js';

/** Options of one run, with units in their names. */
export interface RunJobOptions {
  /** Lines per batch (default {@link DEFAULT_BATCH_LINES}). */
  readonly batchLines?: number;
  /** Checkpoint (commit a version) every this many batches (default {@link DEFAULT_CHECKPOINT_EVERY_BATCHES}). */
  readonly checkpointEveryBatches?: number;
  readonly onError?: 'fail' | 'skip';
  /** Versions to keep, the newest (default {@link DEFAULT_KEEP_VERSIONS}); 0 keeps every version. */
  readonly keepVersions?: number;
  /** Start the job's state over: every old version is deleted before the run. */
  readonly reset?: boolean;
  /** Merge into state built by other code of the job instead of failing (see docs/job-api.md). */
  readonly allowCodeChange?: boolean;
  readonly maxTasksInFlight?: number;
  readonly maxBatchesAhead?: number;
  /** Memory a merge worker may hold before spilling (default {@link DEFAULT_MAX_BUFFER_BYTES}). */
  readonly maxBufferBytes?: number;
  /** Largest frame a map worker pushes (default {@link DEFAULT_MAX_FRAME_BYTES}). */
  readonly maxFrameBytes?: number;
  readonly requestTimeoutMs?: number;
  /** Re-dispatch unfinished tasks after this long without any report (default {@link DEFAULT_STALL_TIMEOUT_MS}). */
  readonly stallTimeoutMs?: number;
  /** `auto`, `off` or a factor: overrides the job spec's `salt` (CLI `--salt`). */
  readonly salt?: string;
}

/** Tuning of a run. */
export interface RunSettings {
  readonly checkpointEveryBatches: number;
  readonly maxTasksInFlight: number;
  /** Batches dispatched beyond the lowest batch not yet merged everywhere. */
  readonly maxBatchesAhead: number;
  readonly maxBufferBytes: number;
  readonly maxFrameBytes: number;
  readonly onError: 'fail' | 'skip';
  /** Versions to keep (the newest); 0 keeps every version. */
  readonly keepVersions: number;
  readonly salt: number;
  /** `--salt`, overriding the job spec's `salt` field. */
  readonly saltSetting?: ResolvedSalt;
  readonly requestTimeoutMs: number;
  /** With work outstanding and no report for this long, unfinished tasks are dispatched again. */
  readonly stallTimeoutMs: number;
}

/** Validated run settings with defaults. */
export function resolveRunSettings(options: RunJobOptions = {}, mapWorkers = 1): RunSettings {
  const int = (name: string, value: number | undefined, fallback: number, min: number) => {
    const v = value ?? fallback;
    if (!Number.isSafeInteger(v) || v < min) {
      throw new MrmError(ErrorCode.BadOption, `${name} must be an integer ≥ ${min}, got ${String(value)}`);
    }
    return v;
  };
  const onError = options.onError ?? 'fail';
  if (onError !== 'fail' && onError !== 'skip') {
    throw new MrmError(ErrorCode.BadOption, `on-error must be 'fail' or 'skip', got '${String(onError)}'`);
  }
  const maxTasksInFlight = int(
    'maxTasksInFlight',
    options.maxTasksInFlight,
    DEFAULT_TASKS_IN_FLIGHT_PER_MAP_WORKER * mapWorkers,
    1,
  );
  return {
    checkpointEveryBatches: int(
      'checkpoint-every',
      options.checkpointEveryBatches,
      DEFAULT_CHECKPOINT_EVERY_BATCHES,
      1,
    ),
    maxTasksInFlight,
    maxBatchesAhead: int(
      'maxBatchesAhead',
      options.maxBatchesAhead,
      Math.max(MIN_DEFAULT_BATCHES_AHEAD, 2 * maxTasksInFlight),
      1,
    ),
    maxBufferBytes: int('maxBufferBytes', options.maxBufferBytes, DEFAULT_MAX_BUFFER_BYTES, 1024 * 1024),
    maxFrameBytes: int('maxFrameBytes', options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, 1024),
    onError,
    keepVersions: int('keep-versions', options.keepVersions, DEFAULT_KEEP_VERSIONS, KEEP_ALL_VERSIONS),
    salt: 0,
    ...(options.salt !== undefined ? { saltSetting: parseSaltOption(options.salt) } : {}),
    requestTimeoutMs: int('requestTimeoutMs', options.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS, 1),
    stallTimeoutMs: int('stallTimeoutMs', options.stallTimeoutMs, DEFAULT_STALL_TIMEOUT_MS, 1),
  };
}

/** Validated lines per batch. */
export function resolveBatchLines(value: number | undefined): number {
  const v = value ?? DEFAULT_BATCH_LINES;
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new MrmError(ErrorCode.BadOption, `batch size must be a positive integer of records, got ${String(value)}`);
  }
  return v;
}
