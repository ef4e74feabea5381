/** Options of the map worker, their defaults as named constants, and their resolver. */
import {
  ErrorCode,
  type Logger,
  type MapTask,
  type Metrics,
  MrmError,
  noMetrics,
  silentLogger,
  type Transport,
} from '@mrm/core';
import type { MapExecutor } from './map-executor.js';

/** Bytes a map worker may push to one merge worker before that worker grants credit back. */
export const DEFAULT_CREDIT_WINDOW_BYTES = 8 * 1024 * 1024;

/** Options of {@link MapWorker}. */
export interface MapWorkerOptions {
  readonly id: string;
  readonly transport: Transport;
  readonly executor: MapExecutor;
  readonly logger?: Logger;
  /** Credit window towards each merge worker (default {@link DEFAULT_CREDIT_WINDOW_BYTES}). */
  readonly creditWindowBytes?: number;
  /**
   * Makes a task runnable here before it runs: fetches the job bundle and uploaded input it
   * names to local files (cluster workers). Default: the task as it is.
   */
  readonly prepareTask?: (task: MapTask) => Promise<MapTask>;
  /** Where records read, pairs pushed and credit waits are counted (default: nowhere). */
  readonly metrics?: Metrics;
}

/** {@link MapWorkerOptions} with defaults filled. */
export interface ResolvedMapWorkerOptions extends Required<MapWorkerOptions> {}

/** Validates options and fills defaults (a new object; the caller's is not touched). */
export function resolveMapWorkerOptions(options: MapWorkerOptions): ResolvedMapWorkerOptions {
  const creditWindowBytes = options.creditWindowBytes ?? DEFAULT_CREDIT_WINDOW_BYTES;
  if (!Number.isInteger(creditWindowBytes) || creditWindowBytes < 1024) {
    throw new MrmError(ErrorCode.BadOption, `creditWindowBytes must be an integer ≥ 1024, got ${creditWindowBytes}`);
  }
  return {
    ...options,
    creditWindowBytes,
    logger: options.logger ?? silentLogger,
    metrics: options.metrics ?? noMetrics,
    prepareTask: options.prepareTask ?? (async (task) => task),
  };
}
