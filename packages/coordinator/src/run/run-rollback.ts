/**
 * Rolling a failed run back: map workers are told to stop its tasks, every merge worker still
 * answering discards what the run wrote (back to the version it started from), then the
 * coordinator drops its own records above that version. The stored state is as before the run
 * (decisions/0006).
 */
import { encodeMessage, type MessageBody } from '@mrm/core';
import type { MergeRequests } from './merge-requests.js';
import type { JobRunContext } from './run-context.js';

/** Who to tell. */
export interface RollbackTargets {
  readonly mapWorkers: readonly string[];
  /** Merge workers that can still answer (a lost one discards on its next run start). */
  readonly mergeWorkers: readonly string[];
}

/** Tells map workers to stop the run's tasks (fire and forget). */
export function abortMapTasks(ctx: JobRunContext, mapWorkers: readonly string[], reason: string): void {
  const abort = encodeMessage(abortMessage(ctx, reason));
  for (const w of mapWorkers) ctx.transport.publish({ kind: 'worker', workerId: w }, abort);
}

/** Rolls the run back everywhere to the version it started from. */
export async function rollBack(
  ctx: JobRunContext,
  requests: MergeRequests,
  targets: RollbackTargets,
  reason: string,
): Promise<void> {
  const message = abortMessage(ctx, reason);
  abortMapTasks(ctx, targets.mapWorkers, reason);
  await Promise.all(
    targets.mergeWorkers.map((worker) =>
      requests.once(worker, encodeMessage(message), `rolling back merge worker ${worker}`),
    ),
  );
  await ctx.store.discardAbove(ctx.job.name, message.rollbackTo);
  await ctx.record.forgetAbove(message.rollbackTo);
}

function abortMessage(ctx: JobRunContext, reason: string): MessageBody & { rollbackTo: number } {
  return { type: 'run-abort', jobId: ctx.jobId, run: ctx.run, rollbackTo: ctx.base?.version ?? 0, reason };
}
