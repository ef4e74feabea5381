/**
 * @mrm/core — the job API, keys and partitioning, the codec, protocol messages, the ports
 * (Transport, StateStore, Clock, Logger) and errors. No I/O: roles and adapters build on it.
 *
 * ```ts
 * import { defineJob, aggregates } from '@mrm/core';
 * export default defineJob({
 *   name: 'wordcount',
 *   map(line: string, emit) { for (const w of line.match(/[A-Za-z]+/g) ?? []) emit(w, 1); },
 *   ...aggregates.sum(),
 * });
 * ```
 * @packageDocumentation
 */
export { encodeAck, encodeNack, expectAck } from './ack.js';
export type {
  ApproxDistinctOptions,
  ApproxDistinctPartial,
  ApproxDistinctState,
  CountPartial,
  CountRun,
  DistinctOptions,
  DistinctPartial,
  DistinctState,
  MeanPartial,
  MeanState,
  OrderedItem,
  TopKEntry,
  TopKOptions,
  TopKPartial,
  TopKState,
} from './aggregates/index.js';
export { aggregates } from './aggregates/index.js';
export type {
  ApiBody,
  ApiMessage,
  CancelRequest,
  DeadLettersReply,
  DeadLettersRequest,
  ErrorReply,
  GetReply,
  GetRequest,
  HeartbeatMessage,
  HotKey,
  InputRef,
  JobEventMessage,
  JobInfoReply,
  JobInfoRequest,
  JobProgress,
  JobStall,
  JobStatus,
  ScanReply,
  ScanRequest,
  SkewStatus,
  StatusReply,
  StatusRequest,
  StreamStatus,
  StreamSubmitOptions,
  SubmitOptions,
  SubmitRequest,
  WorkerResources,
  WorkerStatsReply,
  WorkerStatsRequest,
  WorkerStatus,
} from './api.js';
export { API_VERSION, decodeApi, encodeApi, expectReply, JobState, WorkerRole } from './api.js';
export type { AssociativityCheck } from './associativity.js';
export {
  checkAssociative,
  declareAssociative,
  declaresAssociative,
  MIN_CHECK_VALUES,
} from './associativity.js';
export type {
  CheckpointCopy,
  CopyChainSize,
  CopyManifest,
  ManifestEntry,
  PartitionCopyPlan,
} from './checkpoint-copy.js';
export {
  CHECKPOINTS_BUCKET,
  chainSize,
  checkpointBlobName,
  checkpointBlobPrefix,
  decodeCheckpointCopy,
  encodeCheckpointCopy,
  FULL_COPY_DELTA_RATIO,
  fullCopyDue,
  LEASES_BUCKET,
  leaseKey,
  MAX_COPY_CHAIN,
  manifestBlobNames,
  restoreChain,
  restoreChainEntries,
} from './checkpoint-copy.js';
export { codeIdentityOf, declareCodeIdentity, describeArguments } from './code-identity.js';
export { decode, encode, MSGPACK_OPTIONS } from './codec.js';
export { combineValues } from './combine-values.js';
export type { DeadLetter, DeadLetterStage, StoredDeadLetter } from './dead-letter.js';
export { MAX_DEAD_LETTERS_PER_BATCH } from './dead-letter.js';
export type { MrmErrorOptions, WireError } from './errors.js';
export {
  ErrorCode,
  errorMessage,
  fromWireError,
  isMrmError,
  isTransientFailure,
  MrmError,
  toWireError,
  UnrecoverableError,
} from './errors.js';
export { encodePackedFrame, framePairs, isPairCount, type PackedFrameHeader, unpackPairs } from './frame-pairs.js';
export type { HeartbeatOptions } from './heartbeat.js';
export { startHeartbeat } from './heartbeat.js';
export { HEAVY_KEYS_CAPACITY, HeavyKeys } from './heavy-keys.js';
export type { AggregateParts, Emit, JobSpec, MapContext } from './job.js';
export { defineJob, InputFormat } from './job.js';
export type { CanonicalKey, Key } from './key.js';
export {
  canonicalKey,
  compareCanonicalKeys,
  keyOf,
  MAX_CANONICAL_KEY_LENGTH,
  parseKeyArgument,
} from './key.js';
export { hashKey, partitionOf, partitionOfHash } from './partition.js';
export { PartAssembler, splitPayload } from './payload-parts.js';
export type { Clock, TimerHandle } from './ports/clock.js';
export { systemClock } from './ports/clock.js';
export type { LogFields, Logger } from './ports/logger.js';
export { silentLogger } from './ports/logger.js';
export type { MetricLabels, MetricName, MetricNameOf, MetricSpec, Metrics } from './ports/metrics.js';
export { METRICS, MetricKind, noMetrics } from './ports/metrics.js';
export type {
  PartitionRestore,
  PartitionWrite,
  PruneResult,
  RecordStore,
  ScanOptions,
  SpillArea,
  StateStore,
  StoreState,
  VersionInfo,
} from './ports/state-store.js';
export type { StreamInfo, StreamLog, StreamRecord } from './ports/stream-log.js';
export { STREAM_SUBJECT_PATTERN } from './ports/stream-log.js';
export type {
  BlobInfo,
  BlobStore,
  BucketOptions,
  Channel,
  KeyValueBucket,
  KeyValueEntry,
  MessageHandler,
  PublishOptions,
  Reply,
  RequestOptions,
  SubscribeOptions,
  Subscription,
  Transport,
  TransportState,
} from './ports/transport.js';
export { isKvConflict } from './ports/transport.js';
export { printable } from './printable.js';
export type {
  AckMessage,
  BatchEndMessage,
  BatchSlice,
  CheckpointWrittenMessage,
  CommitVersionMessage,
  CreditMessage,
  FrameMessage,
  JobRef,
  MapTask,
  MapTaskMessage,
  MergedThroughMessage,
  MessageBody,
  OwnersUnknownMessage,
  PartialsMessage,
  PartMessage,
  ProtocolMessage,
  ProtocolMessageType,
  ResendReportsMessage,
  RestorePartitionsMessage,
  RunAbortMessage,
  RunExtendMessage,
  RunStartMessage,
  SaltingOutcome,
  SplitRef,
  TaskDoneMessage,
  TaskFailedMessage,
  TaskOutcome,
  TasksDoneMessage,
} from './protocol.js';
export { decodeMessage, encodeMessage, ownersKeyOf, PROTOCOL_VERSION } from './protocol.js';
export type { JobLoader, ResolvedJob } from './resolve-job.js';
export { DEFAULT_PARTITIONS, JOB_NAME_PATTERN, jobFromModule, resolveJob } from './resolve-job.js';
export { checkRestoredLetters } from './restore-check.js';
export type { RoleState } from './roles.js';
export { runKey } from './roles.js';
export type { ResolvedSalt, SaltPlan, SaltSetting } from './salting.js';
export {
  DEFAULT_SALT,
  HOT_SHARE_OF_PARTITION,
  hotFactor,
  isSubKey,
  MAX_SALT_FACTOR,
  maxFactorFor,
  parseSaltOption,
  parseSubKey,
  resolveSaltSetting,
  subKey,
  subKeyPartition,
} from './salting.js';
export type { StateDigest } from './state-digest.js';
export {
  EMPTY_STATE_DIGEST,
  EMPTY_STATE_HASH,
  isStateDigest,
  stateHashOf,
  stateHashToBigInt,
  sumStateDigests,
} from './state-digest.js';
export { MAX_VALUE_DEPTH, unstorableReason } from './storable-value.js';
export { traceStage } from './trace.js';
export { commitIfNewer, versionsToCommit } from './version-commit.js';
export {
  DEFAULT_KEEP_VERSIONS,
  KEEP_ALL_VERSIONS,
  oldestVersionToKeep,
  pruneVersions,
} from './version-retention.js';
export type { BatchEventTimes, LateRecords } from './watermark.js';
export {
  EventTimeTally,
  eventTimeTallyOf,
  trackEventTimes,
  Watermark,
  watermarkOf,
  windowStartOfKey,
} from './watermark.js';
export type { Duration, EventTime, ResolvedWindow, WindowSpec } from './window.js';
export { durationMs, eventTimeMs, windowStartsOf } from './window.js';
