/** Options of the merge worker and their resolver. */
import {
  ErrorCode,
  type JobLoader,
  type Logger,
  type Metrics,
  MrmError,
  noMetrics,
  type StateStore,
  silentLogger,
  type Transport,
} from '@mrm/core';

/** Options of {@link MergeWorker}. */
export interface MergeWorkerOptions {
  /** Worker id: the partitions it owns are filed under it, so it stays the same across restarts. */
  readonly id: string;
  readonly transport: Transport;
  /** Where the worker's partitions live. */
  readonly store: StateStore;
  /** Loads a job's code from its reference. */
  readonly loadJob: JobLoader;
  readonly logger?: Logger;
  /** Where frames received, batches merged, spill bytes and checkpoint times go (default: nowhere). */
  readonly metrics?: Metrics;
}

/** {@link MergeWorkerOptions} with defaults filled. */
export interface ResolvedMergeWorkerOptions extends Required<MergeWorkerOptions> {}

/** Validates options and fills defaults (a new object; the caller's is not touched). */
export function resolveMergeWorkerOptions(options: MergeWorkerOptions): ResolvedMergeWorkerOptions {
  if (typeof options.id !== 'string' || options.id.length === 0) {
    throw new MrmError(ErrorCode.BadOption, `a merge worker needs a non-empty id, got ${JSON.stringify(options.id)}`);
  }
  return { ...options, logger: options.logger ?? silentLogger, metrics: options.metrics ?? noMetrics };
}
