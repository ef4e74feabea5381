/** The flags `mrm run` and `mrm submit` share, and the job options they become. */
import type { SubmitOptions } from '@mrm/core';

/** Flags of a run that both `mrm run` and `mrm submit` take. */
export interface JobFlags {
  readonly batchSize?: number;
  readonly checkpointEvery?: number;
  readonly onError?: 'fail' | 'skip';
  readonly keepVersions?: number;
  readonly reset?: boolean;
  readonly allowCodeChange?: boolean;
  /** `auto`, `off` or a factor. */
  readonly salt?: string;
  /** MiB of incoming batches a merge worker holds before spilling (its state: a quarter more). */
  readonly mergeMemory?: number;
}

/** The run options the shared flags set (only those given, so defaults stay the engine's). */
export function jobOptionsFromFlags(flags: JobFlags): SubmitOptions {
  return {
    ...(flags.batchSize !== undefined ? { batchLines: flags.batchSize } : {}),
    ...(flags.checkpointEvery !== undefined ? { checkpointEveryBatches: flags.checkpointEvery } : {}),
    ...(flags.onError !== undefined ? { onError: flags.onError } : {}),
    ...(flags.keepVersions !== undefined ? { keepVersions: flags.keepVersions } : {}),
    ...(flags.reset === true ? { reset: true } : {}),
    ...(flags.allowCodeChange === true ? { allowCodeChange: true } : {}),
    ...(flags.salt !== undefined ? { salt: flags.salt } : {}),
    ...(flags.mergeMemory !== undefined ? { maxBufferBytes: flags.mergeMemory * 1024 * 1024 } : {}),
  };
}
