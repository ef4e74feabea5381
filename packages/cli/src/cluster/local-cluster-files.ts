/**
 * The directory of a local cluster (`mrm up --dir <dir>`): every path under it is built here, and
 * `cluster.json` records the running cluster (its URL and the pid of each process) for `mrm down`.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ErrorCode, MrmError } from '@mrm/core';

/** What `cluster.json` holds. */
export interface ClusterRecord {
  /** `nats://127.0.0.1:<port>`; a NATS cluster's URLs comma-separated. */
  readonly url: string;
  /** Process name (`nats-server` or `nats-server-<i>`, `coordinator`, `map-0`, `merge-0`…) → pid. */
  readonly pids: Readonly<Record<string, number>>;
  /** ISO time the cluster was started. */
  readonly startedAt: string;
  /** `http://127.0.0.1:<port>` of the coordinator's dashboard and API. */
  readonly dashboard?: string;
}

/** Paths inside a local cluster directory. */
export interface ClusterPaths {
  /** The directory, absolute. */
  readonly root: string;
  readonly record: string;
  readonly logs: string;
  /** JetStream store of the nats-server (those of a NATS cluster's nodes are under it). */
  readonly nats: string;
  /** JetStream store of the nats-server `name` (`nats-server`, or `nats-server-<i>` of a cluster). */
  natsStore(name: string): string;
  /** Configuration file of the nats-server `name` (mode 0600: it may hold the login). */
  natsConfig(name: string): string;
  /** Log file of the process `name`. */
  log(name: string): string;
  /** State directory of the process `name` (coordinator, map-<i>, merge-<i>). */
  state(name: string): string;
}

/** The paths of the local cluster directory `dir`. */
export function clusterPaths(dir: string): ClusterPaths {
  const root = resolve(dir);
  const logs = join(root, 'logs');
  return {
    root,
    record: join(root, 'cluster.json'),
    logs,
    nats: join(root, 'nats'),
    natsStore: (name) => (name === 'nats-server' ? join(root, 'nats') : join(root, 'nats', name)),
    natsConfig: (name) => join(root, `${name}.conf`),
    log: (name) => join(logs, `${name}.log`),
    state: (name) => join(root, name),
  };
}

/** Reads `cluster.json`; undefined when there is none. */
export function readClusterRecord(paths: ClusterPaths): ClusterRecord | undefined {
  let text: string;
  try {
    text = readFileSync(paths.record, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const record = JSON.parse(text) as ClusterRecord;
    if (typeof record.url !== 'string' || typeof record.pids !== 'object' || record.pids === null) {
      throw new Error('url or pids missing');
    }
    return record;
  } catch (e) {
    throw new MrmError(ErrorCode.State, `${paths.record} is not a cluster record (${(e as Error).message})`, {
      cause: e,
    });
  }
}

/** Writes `cluster.json` whole (through a rename, so a reader never sees half of it). */
export function writeClusterRecord(paths: ClusterPaths, record: ClusterRecord): void {
  const temporary = `${paths.record}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(temporary, paths.record);
}

/** Removes `cluster.json`. */
export function removeClusterRecord(paths: ClusterPaths): void {
  rmSync(paths.record, { force: true });
}

/** The last non-empty line of a log file, to quote in an error ('' when there is none). */
export function lastLogLine(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    return (lines.at(-1) ?? '').trim();
  } catch {
    return '';
  }
}
