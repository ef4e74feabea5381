/**
 * The embedded engine: the coordinator, a map worker (its tasks on a pool of worker threads) and
 * a merge worker in one process, talking through an in-memory transport, with the state in LMDB
 * on local disk. The same roles run as separate processes over NATS in a cluster.
 */
import { availableParallelism } from 'node:os';
import {
  Coordinator,
  type RunJobOptions,
  type RunProgress,
  type RunResult,
  type SourceOutcome,
} from '@mrm/coordinator';
import type { JobRef, Logger, ResolvedJob } from '@mrm/core';
import type { SourceFile } from '@mrm/input';
import { MapWorker, ThreadPoolMapExecutor } from '@mrm/map-worker';
import { MergeWorker } from '@mrm/merge-worker';
import { MemoryBus } from '@mrm/runtime';
import { LmdbStateStore } from '@mrm/store-lmdb';
import { importJob } from './job-loader.js';
import { lockStateDir, statePaths } from './state-dir.js';

/** One embedded run. */
export interface EmbeddedRunRequest {
  readonly job: ResolvedJob;
  readonly ref: JobRef;
  readonly inputs: readonly SourceFile[];
  readonly stateDir: string;
  readonly options?: RunJobOptions;
  /** Map threads (default: available cores). */
  readonly threads?: number;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  readonly onSource?: (outcome: SourceOutcome) => void;
  readonly onProgress?: (progress: RunProgress) => void;
  /** Called with the open store after the run, before it closes (to write results). */
  readonly afterRun?: (store: LmdbStateStore, result: RunResult) => Promise<void>;
}

/** Runs a job in this process; resolves when its last version is committed. */
export async function runEmbedded(request: EmbeddedRunRequest): Promise<RunResult> {
  const paths = statePaths(request.stateDir);
  const unlock = await lockStateDir(paths);
  let store: LmdbStateStore | undefined;
  const bus = MemoryBus.create(request.logger !== undefined ? { logger: request.logger } : {});
  const closers: Array<() => Promise<void>> = [];
  try {
    store = await LmdbStateStore.open({ path: paths.lmdb });
    const loadJob = async (ref: JobRef) =>
      ref.bundleHash === request.ref.bundleHash ? request.job : importJob(ref.bundlePath ?? '', ref.name);
    const mapWorker = new MapWorker({
      id: 'map-0',
      transport: bus.connect(),
      executor: ThreadPoolMapExecutor.create({
        workerId: 'map-0',
        threads: request.threads ?? availableParallelism(),
      }),
      ...(request.logger !== undefined ? { logger: request.logger } : {}),
    });
    const mergeWorker = new MergeWorker({
      id: 'merge-0',
      transport: bus.connect(),
      store,
      loadJob,
      ...(request.logger !== undefined ? { logger: request.logger } : {}),
    });
    const coordinator = new Coordinator({
      transport: bus.connect(),
      store,
      ...(request.logger !== undefined ? { logger: request.logger } : {}),
    });
    closers.push(
      () => coordinator.close(),
      () => mapWorker.close(),
      () => mergeWorker.close(),
    );
    mapWorker.start();
    mergeWorker.start();
    coordinator.start();
    const threads = request.threads ?? availableParallelism();
    const result = await coordinator.runJob({
      jobId: `${request.job.name}-${Date.now().toString(36)}`,
      job: request.job,
      ref: request.ref,
      inputs: request.inputs,
      mapWorkers: [mapWorker.id],
      mergeWorkers: [mergeWorker.id],
      options: { maxTasksInFlight: 2 * threads, ...request.options },
      ...(request.signal !== undefined ? { signal: request.signal } : {}),
      ...(request.onSource !== undefined ? { onSource: request.onSource } : {}),
      ...(request.onProgress !== undefined ? { onProgress: request.onProgress } : {}),
    });
    await request.afterRun?.(store, result);
    return result;
  } finally {
    for (const close of closers) await close().catch(() => {});
    await store?.close();
    await unlock();
  }
}
