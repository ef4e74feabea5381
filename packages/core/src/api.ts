/**
 * The cluster's API and service messages, beside the run protocol of protocol.ts: what clients
 * (`mrm submit`, `mrm status`, `mrm query`) ask the coordinator, what workers announce, and what
 * merge workers answer to queries. Encoded with the core codec like every message.
 */
import { decodeEnvelope, encode, type WithoutVersion } from './codec.js';
import type { StoredDeadLetter } from './dead-letter.js';
import { ErrorCode, MrmError, type WireError } from './errors.js';
import type { VersionInfo } from './ports/state-store.js';
import type { JobRef } from './protocol.js';

/** Roles of worker processes. */
export const WorkerRole = { Map: 'map', Merge: 'merge' } as const;
/** One of the {@link WorkerRole} values. */
export type WorkerRole = (typeof WorkerRole)[keyof typeof WorkerRole];

/** Lifecycle of a submitted job. */
export const JobState = {
  Queued: 'queued',
  Running: 'running',
  Succeeded: 'succeeded',
  Failed: 'failed',
  /** Stopped by `mrm cancel`: its state stays at its last committed version. */
  Cancelled: 'cancelled',
} as const;
/** One of the {@link JobState} values. */
export type JobState = (typeof JobState)[keyof typeof JobState];

/** An input file of a submitted job: read in place (shared filesystem) or uploaded as a blob. */
export interface InputRef {
  /** Identity of the source (the submitter's absolute path): batch ids and plans hang on it. */
  readonly identity: string;
  /** The path as the user gave it (what `ctx.source` shows). */
  readonly displayPath: string;
  /** Where workers read it: a path on a shared filesystem, or `blob:<name>`. */
  readonly location: string;
  readonly gzip: boolean;
  readonly size: number;
}

/** Options of a submitted run, as `mrm submit` passes them. */
export interface SubmitOptions {
  readonly batchLines?: number;
  readonly checkpointEveryBatches?: number;
  readonly onError?: 'fail' | 'skip';
  /** Versions to keep, the newest (0: all; default 100). */
  readonly keepVersions?: number;
  /** Start the job's state over (its old versions are deleted). */
  readonly reset?: boolean;
  /** Keep merging into state built by other code of the job. */
  readonly allowCodeChange?: boolean;
  /** `--salt`: `auto`, `off` or a factor (overrides the job spec's `salt`). */
  readonly salt?: string;
  /**
   * `--merge-memory`: bytes of incoming batches a merge worker holds before it spills them; its
   * partitions' state takes at most a quarter of this more (docs/decisions/0040).
   */
  readonly maxBufferBytes?: number;
  /** Higher runs first (default 0). */
  readonly priority?: number;
  /**
   * A streaming job: it reads the stream of this subject (no `inputs`), a segment every
   * `batchIntervalMs` added to one open run, and runs until cancelled.
   */
  readonly stream?: StreamSubmitOptions;
}

/** The input stream of a streaming job. */
export interface StreamSubmitOptions {
  readonly subject: string;
  readonly batchIntervalMs: number;
  /**
   * A stream without new records this long moves the watermark on by as much (an idle mark,
   * recorded like a segment, so replays agree; docs/decisions/0027). Absent: it waits for records.
   */
  readonly idleTimeoutMs?: number;
}

/** What a worker process uses, sampled at each heartbeat. */
export interface WorkerResources {
  /** CPU time used since the previous sample over wall time, in percent of one core. */
  readonly cpuPercent: number;
  /** Resident memory. */
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
}

/** Worker → coordinator, every heartbeat interval: alive, with counters. */
export interface HeartbeatMessage {
  readonly type: 'heartbeat';
  readonly v: number;
  readonly workerId: string;
  readonly role: WorkerRole;
  readonly startedAtMs: number;
  /** Role-specific counters (credit waits, spill bytes, frames…). */
  readonly stats: Readonly<Record<string, number>>;
  readonly resources?: WorkerResources;
  /** What the worker is doing now ('waiting for credit', 'merging batch 7', 'checkpointing', 'restoring', 'idle'…). */
  readonly phase?: string;
  /** Where the worker serves Prometheus metrics (`http://host:port/metrics`). */
  readonly metricsUrl?: string;
  /**
   * A merge worker's store: an id created with it. Another one under the same worker id means the
   * store is not the one that held the worker's partitions (it came back with an empty disk).
   */
  readonly incarnation?: string;
}

/** Client → coordinator: run this job. */
export interface SubmitRequest {
  readonly type: 'submit';
  readonly v: number;
  readonly jobId: string;
  readonly job: JobRef;
  readonly inputs: readonly InputRef[];
  readonly options: SubmitOptions;
}

/** Client → coordinator: jobs and workers (one job when `jobId` is set). */
export interface StatusRequest {
  readonly type: 'status';
  readonly v: number;
  readonly jobId?: string;
}

/** Coordinator → one worker: your counters and phase as of now (for a status that does not lag a beat). */
export interface WorkerStatsRequest {
  readonly type: 'worker-stats';
  readonly v: number;
}

/** Worker → coordinator: the answer to {@link WorkerStatsRequest}. */
export interface WorkerStatsReply {
  readonly type: 'worker-stats-reply';
  readonly v: number;
  readonly stats: Readonly<Record<string, number>>;
  readonly phase?: string;
}

/** Client → coordinator: stop a queued or running job. */
export interface CancelRequest {
  readonly type: 'cancel';
  readonly v: number;
  readonly jobId: string;
}

/** Client → coordinator: where a job's state lives, for queries. */
export interface JobInfoRequest {
  readonly type: 'job-info';
  readonly v: number;
  readonly name: string;
}

/** Progress of a running job. */
export interface JobProgress {
  readonly totalBatches: number;
  readonly mergedBatches: number;
  readonly records: number;
  /** Batches dispatched but not yet merged everywhere. */
  readonly lagBatches: number;
  /** Records and keys set aside as dead letters in committed versions (`onError: 'skip'`). */
  readonly deadLetters?: number;
  /** A window with lateness: late records (not merged) as of the latest committed version, in total. */
  readonly lateRecords?: number;
  /** A window with lateness: the watermark of the latest committed version (ms since the epoch). */
  readonly watermarkMs?: number;
}

/** A salted hot key and its factor (sub-keys). */
export interface HotKey {
  /** The key's canonical form (JSON text). */
  readonly key: string;
  readonly factor: number;
}

/** How a run's load spread over its merge workers, and what salting did. */
export interface SkewStatus {
  /** Key/value pairs each merge worker reduced (sub-keys and partials included). */
  readonly pairsByWorker: Readonly<Record<string, number>>;
  /** Most pairs reduced by one merge worker ÷ the mean over merge workers (1 is perfect). */
  readonly balance: number;
  /** Keys salted in the run. */
  readonly hotKeys: readonly HotKey[];
  /** Batches salted by map tasks. */
  readonly saltedBatches: number;
  /** `auto`, `off` or `fixed` (the job spec's `salt`, or `--salt`). */
  readonly mode: string;
  /** Why salting was refused (a merge that is not associative, a check that could not be made). */
  readonly warning?: string;
}

/** What the coordinator knows of one job. */
export interface JobStatus {
  readonly jobId: string;
  readonly name: string;
  readonly state: JobState;
  readonly priority: number;
  readonly submittedAtMs: number;
  readonly startedAtMs?: number;
  readonly finishedAtMs?: number;
  readonly progress?: JobProgress;
  /** Versions committed by this job. */
  readonly versions?: readonly number[];
  readonly skippedInputs?: readonly string[];
  readonly error?: WireError;
  /** Load per merge worker and salting (running and finished incremental runs). */
  readonly skew?: SkewStatus;
  /** Set by the watchdog while a running job makes no progress. */
  readonly stalled?: JobStall;
  /** A streaming job: where it stands against its input stream. */
  readonly stream?: StreamStatus;
}

/** A running job without progress: who holds it up and doing what. */
export interface JobStall {
  /** Since when nothing progressed (epoch ms). */
  readonly sinceMs: number;
  /** The worker the job waits for, when one can be named. */
  readonly workerId?: string;
  /** What that worker reports doing. */
  readonly phase?: string;
  /** One line for logs and screens. */
  readonly message: string;
}

/** Where a streaming job stands against its input stream. */
export interface StreamStatus {
  readonly subject: string;
  /** The stream's newest sequence when last looked at. */
  readonly headSeq: number;
  /** Newest sequence whose record is committed. */
  readonly committedSeq: number;
  /** Records published and not yet committed. */
  readonly lag: number;
  /** Segments committed so far by this coordinator (one version each; an idle mark counts). */
  readonly rounds: number;
  /** Runs this coordinator started for the job (an open run takes many segments; decisions/0027). */
  readonly runs?: number;
}

/** What the coordinator knows of one worker. */
export interface WorkerStatus {
  readonly workerId: string;
  readonly role: WorkerRole;
  readonly alive: boolean;
  readonly lastSeenMs: number;
  readonly startedAtMs: number;
  readonly stats: Readonly<Record<string, number>>;
  readonly resources?: WorkerResources;
  readonly phase?: string;
  readonly metricsUrl?: string;
  /** Partitions this merge worker owns, per job name. */
  readonly partitions?: Readonly<Record<string, readonly number[]>>;
}

/** Coordinator → client: status. */
export interface StatusReply {
  readonly type: 'status-reply';
  readonly v: number;
  readonly jobs: readonly JobStatus[];
  readonly workers: readonly WorkerStatus[];
}

/** Coordinator → client: a job's state layout. */
export interface JobInfoReply {
  readonly type: 'job-info-reply';
  readonly v: number;
  readonly name: string;
  readonly partitions: number;
  /** Merge worker owning each partition. */
  readonly owners: readonly string[];
  readonly versions: readonly VersionInfo[];
  readonly bundleHash: string;
}

/** Coordinator → anyone listening: a job changed state or progressed. */
export interface JobEventMessage {
  readonly type: 'job-event';
  readonly v: number;
  readonly status: JobStatus;
}

/** Client → merge worker: a page of a partition's entries as of a version. */
export interface ScanRequest {
  readonly type: 'scan';
  readonly v: number;
  readonly job: string;
  readonly partition: number;
  readonly version: number;
  /** Continue after this canonical key. */
  readonly after?: string;
  readonly limit: number;
}

/** Merge worker → client: entries as a flat `[key, value, key, value…]` list. */
export interface ScanReply {
  readonly type: 'scan-reply';
  readonly v: number;
  readonly entries: unknown[];
  readonly done: boolean;
}

/** Client → merge worker: one key as of a version. */
export interface GetRequest {
  readonly type: 'get';
  readonly v: number;
  readonly job: string;
  readonly partition: number;
  readonly version: number;
  readonly key: string;
}

/** Merge worker → client. */
export interface GetReply {
  readonly type: 'get-reply';
  readonly v: number;
  readonly found: boolean;
  readonly value?: unknown;
}

/** Client → merge worker: a page of the job's dead letters it holds, at or below a version. */
export interface DeadLettersRequest {
  readonly type: 'dead-letters';
  readonly v: number;
  readonly job: string;
  readonly version: number;
  /**
   * Only this partition's letters (the worker refuses when it does not hold the partition); absent:
   * every letter the worker holds of the job.
   */
  readonly partition?: number;
  /** Leave out this many (the pages before). */
  readonly skip: number;
  readonly limit: number;
}

/** Merge worker → client: dead letters, oldest version first. */
export interface DeadLettersReply {
  readonly type: 'dead-letters-reply';
  readonly v: number;
  readonly letters: readonly StoredDeadLetter[];
  readonly done: boolean;
}

/** A reply that is a failure. */
export interface ErrorReply {
  readonly type: 'error-reply';
  readonly v: number;
  readonly error: WireError;
}

/** Every API message. */
export type ApiMessage =
  | HeartbeatMessage
  | SubmitRequest
  | StatusRequest
  | WorkerStatsRequest
  | WorkerStatsReply
  | CancelRequest
  | JobInfoRequest
  | StatusReply
  | JobInfoReply
  | JobEventMessage
  | ScanRequest
  | ScanReply
  | GetRequest
  | GetReply
  | DeadLettersRequest
  | DeadLettersReply
  | ErrorReply;

/** The API protocol version (shared with the run protocol's). */
export const API_VERSION = 1;

/** An API message without its version field. */
export type ApiBody = WithoutVersion<ApiMessage>;

/** Encodes an API message. */
export function encodeApi(message: ApiBody): Uint8Array {
  return encode({ ...message, v: API_VERSION });
}

/** Decodes an API message; throws `E_PROTOCOL` on garbage. */
export function decodeApi(bytes: Uint8Array): ApiMessage {
  return decodeEnvelope(bytes, API_VERSION, 'API message') as ApiMessage;
}

/**
 * Decodes a reply of an expected type; an {@link ErrorReply} is thrown as the error it carries.
 */
export function expectReply<T extends ApiMessage['type']>(
  bytes: Uint8Array,
  type: T,
): Extract<ApiMessage, { type: T }> {
  const m = decodeApi(bytes);
  if (m.type === 'error-reply') {
    throw new MrmError(m.error.code, m.error.message, { details: m.error.details ?? {} });
  }
  if (m.type !== type) throw new MrmError(ErrorCode.Protocol, `expected a '${type}' reply, got '${m.type}'`);
  return m as Extract<ApiMessage, { type: T }>;
}
