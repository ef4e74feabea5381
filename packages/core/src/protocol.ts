/**
 * Protocol messages between the coordinator, map workers and merge workers. Every message is a
 * discriminated union member with a `type` and the protocol version `v`; they travel encoded with
 * the core codec ({@link encodeMessage} / {@link decodeMessage}). docs/protocol.md describes the flow.
 *
 * Identities: a *job* has a `jobId` (one submission or one `mrm run`); its work is cut into
 * *batches*, each with a stable `batchId` (derived from the input: source content hash and
 * ordinal) and a run-local sequence number `seq` (0, 1, 2… in merge order). A *map task* reads one
 * split of one source and produces one or more consecutive batches.
 */

import type { PartitionCopyPlan } from './checkpoint-copy.js';
import { decodeEnvelope, encode, type WithoutVersion } from './codec.js';
import type { DeadLetter } from './dead-letter.js';
import type { WireError } from './errors.js';
import type { InputFormat } from './job.js';
import type { VersionInfo } from './ports/state-store.js';
import type { SaltPlan } from './salting.js';
import type { StateDigest } from './state-digest.js';
import type { BatchEventTimes } from './watermark.js';

/** The protocol version this build speaks. */
export const PROTOCOL_VERSION = 1;

/** One batch produced by a map task: where it ends in the split. */
export interface BatchSlice {
  /** Run-local merge order. */
  readonly seq: number;
  /** Stable id: the same input gives the same id in every run. */
  readonly batchId: string;
  /** Byte offset (in the decompressed source) where the batch ends, exclusive. */
  readonly endOffset: number;
  /** Number of lines in the batch. */
  readonly lines: number;
}

/** A split: a contiguous byte range of one source that a map task reads. */
export interface SplitRef {
  /** Path as the reader opens it (absolute, or a blob name when uploaded). */
  readonly path: string;
  /** Path as the user gave it (what `ctx.source` shows). */
  readonly displayPath: string;
  readonly format: InputFormat;
  /** True for gzip sources (offsets are in decompressed bytes). */
  readonly gzip: boolean;
  readonly startOffset: number;
  /** 1-based line number of the first line of the split. */
  readonly firstLine: number;
  readonly batches: readonly BatchSlice[];
}

/** Where the job's code lives: a bundle by content hash (loaded from a path or a blob store). */
export interface JobRef {
  readonly name: string;
  /** Content hash of the bundle (hex). */
  readonly bundleHash: string;
  /** Local path of the bundle, when the worker can read it directly. */
  readonly bundlePath?: string;
}

/** Coordinator → map worker: run map (+combine) over a split and push the output. */
export interface MapTaskMessage {
  readonly type: 'map-task';
  readonly v: number;
  readonly jobId: string;
  readonly run: number;
  readonly taskId: string;
  /** 1 for the first dispatch; a re-dispatch (lost messages, dead worker) counts up. */
  readonly attempt: number;
  readonly job: JobRef;
  readonly split: SplitRef;
  readonly partitions: number;
  readonly salt: number;
  /**
   * Owner (merge worker id) of each partition, indexed by partition: only on the first task a map
   * worker gets in a run, and on a task sent again after it answered `owners-unknown`; it keeps
   * them for the tasks after (decisions/0058). {@link MapTask} is a task with them filled in.
   */
  readonly owners?: readonly string[];
  /**
   * The owners' generation in this run ({@link ownersKeyOf} of the list): a map worker uses the
   * owners it kept for `jobId`/`run` only when they have this key, else it answers `owners-unknown`.
   */
  readonly ownersKey: number;
  /** Largest frame to push, in bytes. */
  readonly maxFrameBytes: number;
  /** `skip`: quarantine records whose map throws instead of failing the job. */
  readonly onError: 'fail' | 'skip';
  /** Hot keys to salt in this task (decided when it was first dispatched; the same on every attempt). */
  readonly saltPlan?: SaltPlan;
}

/** A map task as a map worker runs it: with the owner of every partition (kept or sent). */
export type MapTask = Omit<MapTaskMessage, 'owners'> & {
  /** Owner (merge worker id) of each partition, indexed by partition. */
  readonly owners: readonly string[];
};

/**
 * The generation key of a list of partition owners: a 32-bit FNV-1a hash of the ids in order (each
 * preceded by its length, so that `['ab', 'c']` and `['a', 'bc']` differ), so that a map worker
 * does not route a task's frames by owners other than those the coordinator dispatched it with.
 */
export function ownersKeyOf(owners: readonly string[]): number {
  let h = 0x811c9dc5;
  const mix = (code: number) => {
    h = Math.imul(h ^ code, 0x01000193);
  };
  for (const owner of owners) {
    mix(owner.length);
    for (let i = 0; i < owner.length; i++) mix(owner.charCodeAt(i));
  }
  return h >>> 0;
}

/** Map worker → merge worker: a frame of key/value pairs for one batch and partition. */
export interface FrameMessage {
  readonly type: 'frame';
  readonly v: number;
  readonly jobId: string;
  readonly run: number;
  readonly seq: number;
  readonly partition: number;
  /** Attempt of the task that produced it: frames of an older attempt are dropped. */
  readonly attempt: number;
  /** Map worker that pushed it (credits go back there). */
  readonly from: string;
  /**
   * Flat list: canonical key, value, canonical key, value… Absent when `packed` carries the list
   * (a frame has exactly one of the two).
   */
  readonly pairs?: unknown[];
  /**
   * The same flat list as one MessagePack-encoded array, left encoded until its batch is merged
   * (decisions/0051): receiving a frame then decodes only its header. Never holds sub-keys of
   * salted hot keys (those frames carry `pairs`).
   */
  readonly packed?: Uint8Array;
  /** With `packed`: the pairs it holds (half its list's length). */
  readonly count?: number;
}

/** Map worker → merge worker: the end of one (batch, partition) with counts, so completeness needs no barrier. */
export interface BatchEndMessage {
  readonly type: 'batch-end';
  readonly v: number;
  readonly jobId: string;
  readonly run: number;
  readonly seq: number;
  readonly batchId: string;
  readonly partition: number;
  readonly attempt: number;
  readonly from: string;
  /** Frames pushed for this batch and partition before this marker. */
  readonly frames: number;
  /** Pairs pushed in them. */
  readonly pairs: number;
  /** Input records in the whole batch (same on every partition's marker). */
  readonly records: number;
  /**
   * Records of the batch whose map threw (`onError: 'skip'`): carried by the marker of partition
   * 0 only, and stored with that partition's state.
   */
  readonly deadLetters?: readonly DeadLetter[];
  /**
   * Partitions holding sub-keys of this partition's hot keys in this batch: each sends one
   * `partials` message, and the batch is not complete here before all of them arrived.
   */
  readonly partialsFrom?: readonly number[];
  /** Event times of the batch (jobs whose window has a lateness): the watermark moves on them. */
  readonly eventTimes?: BatchEventTimes;
}

/**
 * Merge worker → merge worker (on the owner's `frames` channel): one batch's reduced sub-keys of
 * hot keys whose home is `partition`, from the partition `source` that held them.
 */
export interface PartialsMessage {
  readonly type: 'partials';
  readonly v: number;
  readonly jobId: string;
  readonly run: number;
  readonly seq: number;
  readonly attempt: number;
  /** The home partition of the keys. */
  readonly partition: number;
  readonly source: number;
  /** Flat list: canonical key, reduced partial, canonical key, partial… */
  readonly entries: unknown[];
  /**
   * Flat list: canonical key, message… — keys whose sub-key reduce threw here under `onError:
   * 'skip'`: the home partition sets each aside for this batch instead of merging part of it.
   */
  readonly failed?: unknown[];
}

/** Merge worker → map worker: permission to push `bytes` more. */
export interface CreditMessage {
  readonly type: 'credit';
  readonly v: number;
  readonly from: string;
  readonly bytes: number;
}

/**
 * Merge worker → every map worker (broadcast), when its process starts: credit owed by an earlier
 * process under the same id (frames it never absorbed) will never come, so the window towards it
 * starts full again.
 */
export interface CreditResetMessage {
  readonly type: 'credit-reset';
  readonly v: number;
  readonly from: string;
}

/** Coordinator → merge worker: a run starts; these are your partitions. */
export interface RunStartMessage {
  readonly type: 'run-start';
  readonly v: number;
  readonly jobId: string;
  readonly run: number;
  readonly job: JobRef;
  readonly jobName: string;
  readonly incremental: boolean;
  readonly partitions: number;
  /** Partitions this worker owns in this run. */
  readonly owned: readonly number[];
  /** Number of batches in the run (seq 0..totalBatches-1). */
  readonly totalBatches: number;
  /** Stable ids of the batches, indexed by seq. */
  readonly batchIds: readonly string[];
  /** Version written at the first checkpoint of the run; the next ones count up. */
  readonly firstVersion: number;
  /** Checkpoint after every this many batches (and after the last). */
  readonly checkpointEveryBatches: number;
  /** Byte budget of buffered batch values before spilling. */
  readonly maxBufferBytes: number;
  /** `skip`: keys whose reduce or merge fails become dead letters instead of failing the run. */
  readonly onError?: 'fail' | 'skip';
  /**
   * Copies kept off the machine (a cluster): per owned partition, the lease token to write under
   * and the chain to restore from when the local store is not current. Absent: no copies
   * (the embedded engine).
   */
  readonly copies?: readonly PartitionCopyPlan[];
  /** Owner of every partition (where partials of salted keys go). */
  readonly owners?: readonly string[];
  /** The watermark of the version the run starts from (a window with lateness; absent: none yet). */
  readonly watermarkMs?: number;
  /**
   * An open run (a streaming job, docs/decisions/0027): `totalBatches` and `batchIds` are only
   * its first batches; more come in `run-extend` messages, and a version is written at the end of
   * each extension instead of every `checkpointEveryBatches` batches. It never ends by itself:
   * the coordinator stops it with `run-abort`.
   */
  readonly open?: boolean;
}

/**
 * Coordinator → merge workers (request), for an open run: batches `fromSeq..` (their stable ids in
 * `batchIds`, possibly none) join the run, and version `version` is written once every partition
 * has merged them. With `advanceWatermarkMs` (an idle stream) the watermark moves at least there
 * before that version is written. A repeat (same `version`) is acknowledged and ignored.
 */
export interface RunExtendMessage {
  readonly type: 'run-extend';
  readonly v: number;
  readonly jobId: string;
  readonly run: number;
  /** Seq of the first batch added (the run's batch count so far). */
  readonly fromSeq: number;
  readonly batchIds: readonly string[];
  /** The version written after the last of these batches. */
  readonly version: number;
  /** Idle stream: the watermark moves at least to this before `version` is written. */
  readonly advanceWatermarkMs?: number;
}

/**
 * Merge worker → coordinator, cumulative: every batch up to `throughSeq` is merged on every
 * partition this worker owns (they merge in seq order, so what is merged here is always a prefix).
 * A worker coalesces: it sends one report per event-loop turn at most, covering every batch it
 * merged since the last one (`fromSeq`..`throughSeq`), and, when asked to resend, one report from
 * the first batch no committed version covers. The coordinator applies the part it has not seen.
 */
export interface MergedThroughMessage {
  readonly type: 'merged-through';
  readonly v: number;
  readonly jobId: string;
  readonly run: number;
  /** The first batch whose figures this report carries (those before it were reported before). */
  readonly fromSeq: number;
  /** Every batch up to this one is merged here. */
  readonly throughSeq: number;
  /** Input records per batch `fromSeq`..`throughSeq` (from its end markers). */
  readonly records: readonly number[];
  /** Key/value pairs this worker reduced per batch `fromSeq`..`throughSeq` (sub-keys and partials included). */
  readonly pairs: readonly number[];
  readonly partitions: readonly number[];
  readonly from: string;
}

/** Merge worker → coordinator: partitions wrote a checkpoint (not yet committed). */
export interface CheckpointWrittenMessage {
  readonly type: 'checkpoint-written';
  readonly v: number;
  readonly jobId: string;
  readonly run: number;
  readonly version: number;
  /** Last seq included. */
  readonly throughSeq: number;
  readonly partitions: readonly number[];
  /** Live keys per partition after the write, parallel to `partitions`. */
  readonly keyCounts: readonly number[];
  /** Digest of each partition after the write, parallel to `partitions`. */
  readonly digests: readonly StateDigest[];
  /** Records and keys set aside (dead letters) in the batches of this version, all partitions here. */
  readonly deadLetters: number;
  /** Per partition (parallel to `partitions`): its copy is a full snapshot (with copies only). */
  readonly fulls?: readonly boolean[];
  /** Per partition (parallel to `partitions`): its copy's encoded bytes (with copies only). */
  readonly copyBytes?: readonly number[];
  /** The watermark after the version's last batch (a window with lateness; absent: none yet). */
  readonly watermarkMs?: number;
  /** Late records (all their windows final) in the batches of this version, all partitions here. */
  readonly lateRecords?: number;
  readonly from: string;
}

/**
 * Coordinator → merge workers (request): every partition wrote `info.version`; commit it. The one
 * message that says a version is committed: the coordinator's version committer builds `info`
 * once (one `createdAtMs`), every merge worker stores exactly that and acks, then the coordinator
 * stores it too. A group commit (several versions ready at once) is one request carrying the
 * highest version as `info` and the ones before it in `earlier`: the worker commits them all in
 * one write, and so does the coordinator after the acks (decisions/0029).
 */
export interface CommitVersionMessage {
  readonly type: 'commit-version';
  readonly v: number;
  readonly jobId: string;
  readonly jobName: string;
  readonly run: number;
  /** True when `info` is the run's last version: the worker then forgets the run. */
  readonly last: boolean;
  /** The highest version of the commit. */
  readonly info: VersionInfo;
  /**
   * The versions committed with `info` and below it, in increasing order, the first right after
   * the last version committed before (absent: `info` alone). Each keeps its own info and stays
   * listed and queryable.
   */
  readonly earlier?: readonly VersionInfo[];
  /**
   * Versions to keep (`--keep-versions`): after committing, the worker prunes versions older than
   * the `keepVersions` newest. Absent or 0: keep every version.
   */
  readonly keepVersions?: number;
}

/**
 * Coordinator → a merge worker, between runs of a job: make the local store hold these partitions
 * at the committed `version`, restoring each from its chain of copies unless the store already
 * holds it there in the owner's tenure (the partitions of a finished job moved here from a lost
 * merge worker so that queries can read them; decisions/0037). Acked once every one is restored.
 */
export interface RestorePartitionsMessage {
  readonly type: 'restore-partitions';
  readonly v: number;
  readonly jobName: string;
  /** The job's last committed version. */
  readonly version: number;
  /** Per partition: the lease it is now held under and its restore chain at `version`. */
  readonly copies: readonly PartitionCopyPlan[];
}

/** Coordinator → merge workers: stop the run and roll back to `rollbackTo`. */
export interface RunAbortMessage {
  readonly type: 'run-abort';
  readonly v: number;
  readonly jobId: string;
  readonly run: number;
  readonly rollbackTo: number;
  readonly reason: string;
}

/**
 * Coordinator → merge workers: send again every report not yet covered by a committed version
 * (after messages may have been lost: a reconnect, a stalled run). Ignored for a run not open.
 */
export interface ResendReportsMessage {
  readonly type: 'resend-reports';
  readonly v: number;
  readonly jobId: string;
  readonly run: number;
}

/** Map worker → coordinator: a task finished; all its frames and markers are published. */
export interface TaskDoneMessage {
  readonly type: 'task-done';
  readonly v: number;
  readonly jobId: string;
  readonly run: number;
  readonly taskId: string;
  /** Attempt of the task this is about (0 for failures outside map tasks). */
  readonly attempt: number;
  readonly records: number;
  /** Records quarantined because map threw (with `onError: 'skip'`). */
  readonly skipped: number;
  readonly from: string;
  /** Key/value pairs pushed by the task. */
  readonly pairs?: number;
  /** The task's heaviest keys: flat `[canonical key, pairs pushed, …]`. */
  readonly heavy?: readonly unknown[];
  /** What salting did in this task. */
  readonly salting?: SaltingOutcome;
}

/** What a `task-done` says about its task, without the run and worker (an item of `tasks-done`). */
export type TaskOutcome = Omit<TaskDoneMessage, 'type' | 'v' | 'jobId' | 'run' | 'from'>;

/**
 * Map worker → coordinator: several tasks of one run finished in one event-loop turn, in the
 * order they finished — one message instead of a `task-done` each (decisions/0058). A single
 * task is still reported by `task-done`.
 */
export interface TasksDoneMessage {
  readonly type: 'tasks-done';
  readonly v: number;
  readonly jobId: string;
  readonly run: number;
  readonly from: string;
  readonly tasks: readonly TaskOutcome[];
}

/** What salting did in one map task. */
export interface SaltingOutcome {
  /** Batches salted. */
  readonly batches: number;
  /** The keys salted, flat `[canonical key, largest factor, …]`. */
  readonly keys?: readonly unknown[];
  /** Why a batch was not salted although the plan said so (the check failed or could not be made). */
  readonly refused?: string;
  /** True when `refused` is a failed check (not a check that could not be made). */
  readonly failed?: boolean;
}

/** Any worker → coordinator: user code or input failed; the run must stop. */
export interface TaskFailedMessage {
  readonly type: 'task-failed';
  readonly v: number;
  readonly jobId: string;
  readonly run: number;
  readonly taskId: string;
  /** Attempt of the task this is about (0 for failures outside map tasks). */
  readonly attempt: number;
  readonly error: WireError;
  readonly from: string;
}

/**
 * Map worker → coordinator: a map task came without partition owners and this worker keeps none
 * of that key for its run (it restarted, or the task that carried them was lost); the coordinator
 * sends the task again, as a new attempt, with the owners (decisions/0058).
 */
export interface OwnersUnknownMessage {
  readonly type: 'owners-unknown';
  readonly v: number;
  readonly jobId: string;
  readonly run: number;
  readonly taskId: string;
  readonly attempt: number;
  readonly from: string;
}

/** One part of a payload too large for the transport (see payload-parts.ts). */
export interface PartMessage {
  readonly type: 'part';
  readonly v: number;
  readonly id: string;
  readonly index: number;
  readonly total: number;
  readonly bytes: Uint8Array;
}

/** Reply to a request: done, or why not. */
export interface AckMessage {
  readonly type: 'ack';
  readonly v: number;
  readonly ok: boolean;
  readonly error?: WireError;
}

/** Every protocol message. */
export type ProtocolMessage =
  | MapTaskMessage
  | FrameMessage
  | BatchEndMessage
  | PartialsMessage
  | CreditMessage
  | CreditResetMessage
  | RunStartMessage
  | RunExtendMessage
  | MergedThroughMessage
  | CheckpointWrittenMessage
  | CommitVersionMessage
  | RunAbortMessage
  | RestorePartitionsMessage
  | ResendReportsMessage
  | TaskDoneMessage
  | TasksDoneMessage
  | TaskFailedMessage
  | OwnersUnknownMessage
  | PartMessage
  | AckMessage;

/** The `type` of every protocol message. */
export type ProtocolMessageType = ProtocolMessage['type'];

/** A message without its version field (filled by {@link encodeMessage}). */
export type MessageBody = WithoutVersion<ProtocolMessage>;

/** Encodes a message, stamping the protocol version. */
export function encodeMessage(message: MessageBody): Uint8Array {
  return encode({ ...message, v: PROTOCOL_VERSION });
}

/** Decodes and checks a message; throws `E_PROTOCOL` on garbage or another protocol version. */
export function decodeMessage(bytes: Uint8Array): ProtocolMessage {
  return decodeEnvelope(bytes, PROTOCOL_VERSION, 'protocol message') as ProtocolMessage;
}
