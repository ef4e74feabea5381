/**
 * The roles of a job in one process on memory only: a coordinator, a map worker (inline, no
 * threads) and merge workers over the in-memory transport and one in-memory store. What tests
 * and measurements of the coordinator's runs start (the embedded engine is the same with map
 * threads and LMDB, for `mrm run`).
 *
 * ```ts
 * const roles = startMemoryRoles(job);
 * await roles.request([], async (run) => { await run.extend(files); });
 * await roles.close();
 * ```
 */
import { Coordinator, type OpenRun, type RunJobOptions, type RunResult } from '@mrm/coordinator';
import type { JobRef, ResolvedJob } from '@mrm/core';
import type { SourceFile } from '@mrm/input';
import { InlineMapExecutor, MapWorker } from '@mrm/map-worker';
import { MergeWorker } from '@mrm/merge-worker';
import { MemoryBus, MemoryStateStore } from '@mrm/runtime';

/** Roles started by {@link startMemoryRoles}. */
export interface MemoryRoles {
  readonly store: MemoryStateStore;
  /** A run of the job over `inputs`, or an open run fed by `open`. */
  request(inputs: readonly SourceFile[], open?: (run: OpenRun) => Promise<void>): Promise<RunResult>;
  close(): Promise<void>;
}

/** Starts a coordinator, one map worker and `mergeWorkers` merge workers (default two) for `job`. */
export function startMemoryRoles(
  job: ResolvedJob,
  options: { readonly mergeWorkers?: number; readonly run?: RunJobOptions } = {},
): MemoryRoles {
  const bus = MemoryBus.create();
  const store = new MemoryStateStore();
  const loadJob = async () => job;
  const map = new MapWorker({
    id: 'map-0',
    transport: bus.connect(),
    executor: new InlineMapExecutor(loadJob, 'map-0'),
  });
  const merges = Array.from(
    { length: options.mergeWorkers ?? 2 },
    (_, i) => new MergeWorker({ id: `merge-${i}`, transport: bus.connect(), store, loadJob }),
  );
  const coordinator = new Coordinator({ transport: bus.connect(), store });
  for (const w of [map, ...merges]) w.start();
  coordinator.start();
  const ref: JobRef = { name: job.name, bundleHash: 'memory' };
  return {
    store,
    request: (inputs, open) =>
      coordinator.runJob({
        jobId: `${job.name}-${Math.random().toString(36).slice(2)}`,
        job,
        ref,
        inputs,
        mapWorkers: [map.id],
        mergeWorkers: merges.map((w) => w.id),
        ...(options.run !== undefined ? { options: options.run } : {}),
        ...(open !== undefined ? { open } : {}),
      }),
    close: async () => {
      await coordinator.close();
      for (const w of [map, ...merges]) await w.close();
    },
  };
}
