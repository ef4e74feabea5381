/** Options of the cluster coordinator service, their defaults as named constants, and their resolver. */
import {
  type Clock,
  ErrorCode,
  type InputRef,
  type JobLoader,
  type Logger,
  type Metrics,
  MrmError,
  noMetrics,
  type RecordStore,
  type StreamLog,
  silentLogger,
  systemClock,
  type Transport,
} from '@mrm/core';
import type { SourceFile } from '@mrm/input';
import {
  DEFAULT_HEARTBEAT_TIMEOUT_MS,
  DEFAULT_LIVENESS_PROBE_MS,
  DEFAULT_WATCHDOG_MS,
  DEFAULT_WORKER_WAIT_MS,
} from '../defaults.js';
import type { PartitionLeases } from '../partition-leases.js';
import type { RunJobOptions } from '../run-settings.js';
import type { DEFAULT_SEGMENTS_PER_RUN, StreamSegment } from './stream-feed.js';

/** How the service reads streaming jobs' input. */
export interface StreamInput {
  readonly streams: StreamLog;
  /** The records of a segment as a local file (location `stream:…` for the map workers). */
  segmentSource(segment: StreamSegment): Promise<SourceFile>;
  /** Deletes what `segmentSource` made for a segment, once its version is committed. */
  releaseSegment?(segment: StreamSegment): Promise<void>;
  /** Segments one open run takes before the next run starts (default {@link DEFAULT_SEGMENTS_PER_RUN}). */
  readonly segmentsPerRun?: number;
}

/** Options of {@link CoordinatorService}. */
export interface CoordinatorServiceOptions {
  readonly transport: Transport;
  /** The coordinator's own store (versions, plans, job history). */
  readonly store: RecordStore;
  /** Loads a submitted job's code (from the blob store). */
  readonly loadJob: JobLoader;
  /** Turns submitted inputs into files this process can plan (downloading uploads). */
  readonly resolveInputs: (inputs: readonly InputRef[]) => Promise<SourceFile[]>;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** A worker is lost after this long without a heartbeat (default {@link DEFAULT_HEARTBEAT_TIMEOUT_MS}). */
  readonly heartbeatTimeoutMs?: number;
  /**
   * Every live worker's process is probed this often; one whose connections to NATS are gone is
   * lost at once (default {@link DEFAULT_LIVENESS_PROBE_MS}; 0: heartbeats alone decide).
   */
  readonly livenessProbeMs?: number;
  /** How long a job waits for at least one map and one merge worker (default {@link DEFAULT_WORKER_WAIT_MS}). */
  readonly workerWaitMs?: number;
  /** Options applied to every run (tests shorten timeouts with it). */
  readonly runOptions?: RunJobOptions;
  /**
   * Partition leases and checkpoint copies in JetStream: with them a lost merge worker's
   * partitions move to the live merge workers and the job goes on. Without: a lost merge worker
   * fails the run.
   */
  readonly leases?: PartitionLeases;
  /** Where counters go (default: nowhere). */
  readonly metrics?: Metrics;
  /** A running job without progress this long gets a stall warning (default {@link DEFAULT_WATCHDOG_MS}). */
  readonly watchdogMs?: number;
  /** Input of streaming jobs: the streams, and a segment of one as a file this process can plan. */
  readonly streamInput?: StreamInput;
}

/** {@link CoordinatorServiceOptions} with defaults filled. */
export interface ResolvedCoordinatorServiceOptions
  extends Required<Omit<CoordinatorServiceOptions, 'leases' | 'streamInput'>> {
  readonly leases: PartitionLeases | undefined;
  readonly streamInput: StreamInput | undefined;
}

/** Validates options and fills defaults (a new object; the caller's is not touched). */
export function resolveCoordinatorServiceOptions(
  options: CoordinatorServiceOptions,
): ResolvedCoordinatorServiceOptions {
  return {
    ...options,
    logger: options.logger ?? silentLogger,
    clock: options.clock ?? systemClock,
    heartbeatTimeoutMs: positiveMs('heartbeat-timeout', options.heartbeatTimeoutMs, DEFAULT_HEARTBEAT_TIMEOUT_MS),
    livenessProbeMs:
      options.livenessProbeMs === 0
        ? 0
        : positiveMs('liveness-probe', options.livenessProbeMs, DEFAULT_LIVENESS_PROBE_MS),
    workerWaitMs: positiveMs('worker-wait', options.workerWaitMs, DEFAULT_WORKER_WAIT_MS),
    runOptions: options.runOptions ?? {},
    leases: options.leases,
    streamInput: options.streamInput,
    metrics: options.metrics ?? noMetrics,
    watchdogMs: positiveMs('watchdog', options.watchdogMs, DEFAULT_WATCHDOG_MS),
  };
}

function positiveMs(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new MrmError(ErrorCode.BadOption, `${name} must be a positive integer of milliseconds, got ${String(value)}`);
  }
  return v;
}
