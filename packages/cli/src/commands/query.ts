/** `mrm query` (on a local state directory or a cluster) and `mrm versions`. */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { JobRecord } from '@mrm/coordinator';
import {
  ErrorCode,
  type Key,
  MrmError,
  parseKeyArgument,
  type StateStore,
  type Transport,
  type VersionInfo,
} from '@mrm/core';
import { connectCluster } from '../cluster/connect.js';
import { fetchJobInfo } from '../cluster/owner-requests.js';
import { openClusterResult } from '../cluster/remote-result.js';
import { importJob } from '../job-loader.js';
import { say, watermarkText } from '../report.js';
import { type ResultJob, writeJobResult } from '../result-output.js';
import { openExistingStore, statePaths } from '../state-dir.js';

/** Options of `mrm query --state`. */
export interface QueryCommandOptions {
  readonly state?: string;
  readonly nats?: string;
  readonly job: string;
  readonly key?: string;
  readonly version?: number;
  readonly out?: string;
}

/** The error for a job a state directory does not hold, naming those it does. */
async function noSuchJob(store: StateStore, stateDir: string, name: string): Promise<MrmError> {
  const jobs = await store.listJobs();
  return new MrmError(
    ErrorCode.State,
    `no job '${name}' in '${stateDir}' (jobs there: ${jobs.length > 0 ? jobs.join(', ') : 'none'})`,
  );
}

/** The job as stored: its partitions, and its finalize from the bundle of its latest run. */
async function storedJob(store: StateStore, stateDir: string, name: string): Promise<ResultJob> {
  const shape = await new JobRecord(store, name).shape();
  if (shape === undefined) throw await noSuchJob(store, stateDir, name);
  const bundle = join(statePaths(stateDir).bundles, `${shape.bundleHash}.mjs`);
  const present = await access(bundle).then(
    () => true,
    () => false,
  );
  if (!present) {
    say(`mrm: warning: the code of job '${name}' is not in '${stateDir}'; showing stored state without finalize`);
    return { name, partitions: shape.partitions };
  }
  const job = await importJob(bundle, name);
  return { name, partitions: shape.partitions, ...(job.finalize !== undefined ? { finalize: job.finalize } : {}) };
}

async function withStore<T>(stateDir: string, fn: (store: StateStore) => Promise<T>): Promise<T> {
  const store = await openExistingStore(stateDir);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Writes a cluster job's result through its merge workers (finalize from the cluster's bundle). */
export async function writeClusterResult(
  transport: Transport,
  job: { name: string },
  request: { out: string; version?: number; key?: Key },
): Promise<number> {
  const { source, job: resultJob } = await openClusterResult(transport, job.name, QUERY_TIMEOUT_MS);
  return writeJobResult(source, resultJob, request);
}

const QUERY_TIMEOUT_MS = 30_000;

/**
 * `query --key` for a key the result does not hold: an error (exit 1, one line on stderr, nothing
 * on stdout), so that a script can tell "absent" from a value.
 */
function absentKey(key: Key, job: string): MrmError {
  return new MrmError(ErrorCode.NotFound, `key ${JSON.stringify(key)} is not in the result of job '${job}'`);
}

/** Runs `mrm query`: on a local --state, else on the cluster at --nats / MRM_NATS_URL. */
export async function queryCommand(options: QueryCommandOptions): Promise<void> {
  const key: Key | undefined = options.key !== undefined ? parseKeyArgument(options.key) : undefined;
  const request = {
    out: options.out ?? '-',
    ...(options.version !== undefined ? { version: options.version } : {}),
    ...(key !== undefined ? { key } : {}),
  };
  if (options.state === undefined) {
    const transport = await connectCluster(options, 'mrm-query');
    try {
      const lines = await writeClusterResult(transport, { name: options.job }, request);
      if (key !== undefined && lines === 0) throw absentKey(key, options.job);
    } finally {
      await transport.close();
    }
    return;
  }
  const stateDir = options.state;
  await withStore(stateDir, async (store) => {
    const job = await storedJob(store, stateDir, options.job);
    const lines = await writeJobResult(store, job, request);
    if (key !== undefined && lines === 0) throw absentKey(key, options.job);
  });
}

/** One line of `mrm versions`: the version id first. */
function versionLine(v: VersionInfo): string {
  const late =
    v.watermarkMs !== undefined ? `\twatermark=${watermarkText(v.watermarkMs)}\tlate=${v.lateRecords ?? 0}` : '';
  return `${v.version}\t${new Date(v.createdAtMs).toISOString()}\tbatches=${v.batches}\trecords=${v.records}\tkeys=${v.keys}${late}\t${v.label}\n`;
}

/**
 * One line of `mrm versions --json`. `hash` and `bytes` are null for versions committed before
 * they were kept.
 */
function versionJson(v: VersionInfo): string {
  return `${JSON.stringify({
    version: v.version,
    batches: v.batches,
    committedAt: new Date(v.createdAtMs).toISOString(),
    keys: v.keys,
    bytes: v.bytes ?? null,
    hash: v.hash ?? null,
    records: v.records,
    base: v.base,
    label: v.label,
    ...(v.watermarkMs !== undefined ? { watermark: watermarkText(v.watermarkMs), watermarkMs: v.watermarkMs } : {}),
    ...(v.lateRecords !== undefined ? { lateRecords: v.lateRecords } : {}),
  })}\n`;
}

/** Opens a local state directory and runs `fn` on the store when it holds job `job`. */
export async function withJobStore<T>(
  stateDir: string,
  job: string,
  fn: (store: StateStore) => Promise<T>,
): Promise<T> {
  return withStore(stateDir, async (store) => {
    if ((await new JobRecord(store, job).shape()) === undefined) throw await noSuchJob(store, stateDir, job);
    return fn(store);
  });
}

/** Runs `mrm versions`: one line per version, oldest first, on a local --state or the cluster. */
export async function versionsCommand(options: {
  state?: string;
  nats?: string;
  job: string;
  json?: boolean;
}): Promise<void> {
  const print = (versions: readonly VersionInfo[]) => {
    for (const v of versions) process.stdout.write(options.json === true ? versionJson(v) : versionLine(v));
  };
  if (options.state === undefined) {
    const transport = await connectCluster(options, 'mrm-versions');
    try {
      print((await fetchJobInfo(transport, options.job, QUERY_TIMEOUT_MS)).versions);
    } finally {
      await transport.close();
    }
    return;
  }
  await withJobStore(options.state, options.job, async (store) => print(await store.listVersions(options.job)));
}
