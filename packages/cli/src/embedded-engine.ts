/**
 * The embedded engine: the coordinator, a map worker (its tasks on a pool of worker threads) and
 * a merge worker in one process, talking through an in-memory transport, with the state in LMDB
 * on local disk. The same roles run as separate processes over NATS in a cluster.
 */
import { availableParallelism } from 'node:os';
import {
  Coordinator,
  type OpenRun,
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

/** What an embedded engine is opened with. */
export interface EmbeddedEngineOptions {
  readonly job: ResolvedJob;
  readonly ref: JobRef;
  readonly stateDir: string;
  readonly options?: RunJobOptions;
  /** Map threads (default: available cores). */
  readonly threads?: number;
  readonly logger?: Logger;
}

/** One run's input and its observers. */
export interface EmbeddedRunInput {
  readonly inputs: readonly SourceFile[];
  readonly signal?: AbortSignal;
  readonly onSource?: (outcome: SourceOutcome) => void;
  readonly onProgress?: (progress: RunProgress) => void;
  /** Options of this run over the engine's (e.g. `reset: false` for the runs after the first). */
  readonly options?: RunJobOptions;
  /**
   * An open run (`mrm run --follow`, docs/decisions/0033): `inputs` are ignored, and this feeds
   * the run until it resolves; the run then ends once what it was fed is committed.
   */
  readonly open?: (run: OpenRun) => Promise<void>;
}

/** One embedded run. */
export interface EmbeddedRunRequest extends EmbeddedEngineOptions, EmbeddedRunInput {
  /** Called with the open store after the run, before it closes (to write results). */
  readonly afterRun?: (store: LmdbStateStore, result: RunResult) => Promise<void>;
}

/**
 * An open embedded engine: the state directory locked, LMDB open, the roles started. Runs one
 * job's runs one after another (`mrm run --follow`: open runs, renewed now and then); close it when done.
 */
export interface EmbeddedEngine {
  readonly store: LmdbStateStore;
  /** Runs the job over `input`; resolves when its last version is committed. */
  run(input: EmbeddedRunInput): Promise<RunResult>;
  /** Stops the roles, closes the store and unlocks the state directory. */
  close(): Promise<void>;
}

/** Opens an embedded engine for one job on a state directory. */
export async function openEmbeddedEngine(request: EmbeddedEngineOptions): Promise<EmbeddedEngine> {
  const paths = statePaths(request.stateDir);
  const unlock = await lockStateDir(paths);
  let store: LmdbStateStore | undefined;
  const bus = MemoryBus.create(request.logger !== undefined ? { logger: request.logger } : {});
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.splice(0)) await c().catch(() => {});
    await store?.close();
    await unlock();
  };
  try {
    store = await LmdbStateStore.open({ path: paths.lmdb });
    const loadJob = async (ref: JobRef) =>
      ref.bundleHash === request.ref.bundleHash ? request.job : importJob(ref.bundlePath ?? '', ref.name);
    const threads = request.threads ?? availableParallelism();
    const executor = ThreadPoolMapExecutor.create({ workerId: 'map-0', threads });
    const mapWorker = new MapWorker({
      id: 'map-0',
      transport: bus.connect(),
      executor,
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
    const openStore = store;
    return {
      store: openStore,
      run: (input) =>
        coordinator.runJob({
          jobId: `${request.job.name}-${Date.now().toString(36)}`,
          job: request.job,
          ref: request.ref,
          inputs: input.inputs,
          mapWorkers: [mapWorker.id],
          mergeWorkers: [mergeWorker.id],
          options: { maxTasksInFlight: 2 * threads, ...request.options, ...input.options },
          ...(input.open !== undefined ? { open: input.open } : {}),
          ...(input.signal !== undefined ? { signal: input.signal } : {}),
          onSource: startThreadsForTasks(executor, input.onSource),
          ...(input.onProgress !== undefined ? { onProgress: input.onProgress } : {}),
        }),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * An `onSource` that starts every map thread once the sources planned so far hold a second batch
 * to map (a second task), then calls `then`: the threads load while the rest of the input is
 * planned. A run of one batch keeps to one thread (decisions/0032, 0057).
 */
export function startThreadsForTasks(
  executor: Pick<ThreadPoolMapExecutor, 'startAll'>,
  then: ((outcome: SourceOutcome) => void) | undefined,
): (outcome: SourceOutcome) => void {
  let batches = 0;
  return (outcome) => {
    batches += outcome.included;
    if (batches >= 2) executor.startAll();
    then?.(outcome);
  };
}

/** Runs a job in this process; resolves when its last version is committed. */
export async function runEmbedded(request: EmbeddedRunRequest): Promise<RunResult> {
  const engine = await openEmbeddedEngine(request);
  try {
    const result = await engine.run(request);
    await request.afterRun?.(engine.store, result);
    return result;
  } finally {
    await engine.close();
  }
}
