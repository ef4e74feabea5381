/**
 * Stage stamps of a batch's life, for finding where its latency goes (docs/benchmarks.md,
 * "latency"). A stamp is a `debug` line of the role's injected logger with the message `trace`,
 * the stage's name, the wall clock in milliseconds with microseconds (`atMs`: comparable across
 * the processes of one machine) and what identifies the batch or version (`seq`, `version`,
 * `jobId`). The CLI's roles log debug lines with `--verbose` or `MRM_TRACE=1`; otherwise the
 * logger drops them, and a stamp costs a call and a small object.
 *
 * ```ts
 * traceStage(logger, 'merge.merged', { jobId, seq });
 * ```
 */
import type { LogFields, Logger } from './ports/logger.js';

/** Logs one stage stamp (see the module comment). */
export function traceStage(logger: Logger, stage: string, fields: LogFields): void {
  logger.debug('trace', {
    stage,
    atMs: Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000,
    ...fields,
  });
}
