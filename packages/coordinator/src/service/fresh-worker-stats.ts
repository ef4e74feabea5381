/**
 * Status that does not lag a heartbeat: the registry holds each worker's counters as of its last
 * beat (up to an interval old, more when the worker's main thread was busy), so a status request
 * asks every live worker for its counters as of now, briefly, and keeps the beat's for any that
 * does not answer in time.
 */
import { decodeApi, encodeApi, type Transport, type WorkerStatus } from '@mrm/core';

/** How long a status waits for a worker's fresh counters before it shows those of its last beat. */
export const FRESH_STATS_TIMEOUT_MS = 300;

/** `workers` with each live one's stats and phase replaced by what it says now, where it answers. */
export function freshWorkerStats(
  transport: Transport,
  workers: readonly WorkerStatus[],
  timeoutMs = FRESH_STATS_TIMEOUT_MS,
): Promise<WorkerStatus[]> {
  return Promise.all(
    workers.map(async (w) => {
      if (!w.alive) return w;
      try {
        const payload = await transport.request(
          { kind: 'stats', workerId: w.workerId },
          encodeApi({ type: 'worker-stats' }),
          { timeoutMs },
        );
        const reply = decodeApi(payload);
        if (reply.type !== 'worker-stats-reply') return w;
        return { ...w, stats: reply.stats, ...(reply.phase !== undefined ? { phase: reply.phase } : {}) };
      } catch {
        return w; // busy, gone, or an older worker: its last heartbeat stands
      }
    }),
  );
}
