/**
 * Stopping a run: map workers are told to stop its tasks; on a failure every merge worker still
 * answering discards what the run wrote above `rollbackTo` (the version it started from, or for
 * a cancel the last version it committed), then the coordinator drops its own records above that
 * version. The stored state is as it was at `rollbackTo` (decisions/0006).
 */
import { encodeMessage } from '@mrm/core';
import type { MergeRequests } from './merge-requests.js';
import type { JobRunContext } from './run-context.js';

/** Tells map workers to stop the run's tasks (fire and forget). */
export function abortMapTasks(ctx: JobRunContext, mapWorkers: readonly string[], reason: string): void {
  const abort = encodeMessage({ type: 'run-abort', jobId: ctx.jobId, run: ctx.run, rollbackTo: 0, reason });
  for (const w of mapWorkers) ctx.transport.publish({ kind: 'worker', workerId: w }, abort);
}

/** Rolls the run back to `rollbackTo` on `mergeWorkers` (those that can still answer) and in the coordinator's records. */
export async function rollBack(
  ctx: JobRunContext,
  requests: MergeRequests,
  mergeWorkers: readonly string[],
  rollbackTo: number,
  reason: string,
): Promise<void> {
  const message = encodeMessage({ type: 'run-abort', jobId: ctx.jobId, run: ctx.run, rollbackTo, reason });
  await Promise.all(
    mergeWorkers.map((worker) => requests.once(worker, message, `rolling back merge worker ${worker}`)),
  );
  await ctx.store.discardAbove(ctx.job.name, rollbackTo);
  await ctx.record.forgetAbove(rollbackTo);
}
