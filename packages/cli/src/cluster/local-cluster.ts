/**
 * A local cluster of separate OS processes in one directory (`mrm up` / `mrm down`): a nats-server
 * with JetStream on a free loopback port (or a JetStream cluster of several, routes on loopback),
 * a coordinator, and map and merge workers with stable ids
 * (`map-0`, `merge-0`…), each detached with its log in `<dir>/logs`. Starting again in the same
 * directory keeps the JetStream data and every process's state, so merge workers find their
 * partitions again.
 */
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ErrorCode, MrmError } from '@mrm/core';
import { NATS_META_LEADER_PATTERN, natsServerConfig } from '@mrm/runtime';
import {
  type ClusterPaths,
  type ClusterRecord,
  clusterPaths,
  readClusterRecord,
  removeClusterRecord,
  writeClusterRecord,
} from './local-cluster-files.js';
import {
  findNatsServer,
  freePorts,
  isClusterProcess,
  isRunning,
  signalGroup,
  spawnDetached,
} from './local-processes.js';
import { type ReadinessContext, waitForLogLine, waitForNats, waitForWorkers } from './local-readiness.js';

/** The `mrm` executable the cluster's processes run. */
const MRM_BIN = fileURLToPath(new URL('../../bin/mrm.js', import.meta.url));

/** The coordinator's log line saying where its dashboard listens (`--http 0`: a port of its own pick). */
const DASHBOARD_LINE = /dashboard ready .*\burl=(http:\/\/\S+)/;

/** Name of the nats-server in `cluster.json` and its log file. */
const NATS_NAME = 'nats-server';

/** Options of {@link startLocalCluster}. */
export interface LocalClusterOptions {
  /** Directory of state, logs and `cluster.json`. */
  readonly dir: string;
  readonly maps: number;
  readonly merges: number;
  /** Map threads per map worker (default: the worker's own default, the cores). */
  readonly threads?: number;
  /** How long the cluster may take to be ready; default 30 000 ms. */
  readonly readyTimeoutMs?: number;
  /** Aborting stops the start (and whatever it started). */
  readonly signal?: AbortSignal;
  /**
   * NATS login the started nats-server requires and every process uses (a user and password,
   * or a token); default none.
   */
  readonly natsAuth?: { readonly user: string; readonly pass: string } | { readonly token: string };
  /** Bearer token of the dashboard and every `/metrics` (default none). */
  readonly httpToken?: string;
  /** nats-servers: 1 (default), or a JetStream cluster of that many nodes. */
  readonly natsNodes?: number;
  /** false: the coordinator keeps no checkpoint copies (`mrm coordinator --no-copies`); default true. */
  readonly copies?: boolean;
}

/** Options of {@link stopLocalCluster}. */
export interface StopOptions {
  /** How long processes get to exit after SIGTERM before SIGKILL; default 10 000 ms. */
  readonly graceMs?: number;
}

/** What {@link stopLocalCluster} did. */
export interface StopReport {
  /** Processes that were running and are now stopped. */
  readonly stopped: readonly string[];
  /** Those of them that needed SIGKILL. */
  readonly killed: readonly string[];
}

/** Starts the processes of the cluster; `record` grows as they start, so a failure can stop them. */
async function launch(
  options: LocalClusterOptions,
  paths: ClusterPaths,
  record: { url: string; pids: Record<string, number>; startedAt: string; dashboard?: string },
): Promise<void> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const ctx: ReadinessContext = {
    paths,
    deadline: Date.now() + readyTimeoutMs,
    timeoutMs: readyTimeoutMs,
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  };
  const auth = options.natsAuth;
  await startNats(ctx, paths, record, options.natsNodes ?? 1, auth);
  // Every process gets the login (and the HTTP token) through its environment, not its command line.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...(auth === undefined
      ? {}
      : 'token' in auth
        ? { MRM_NATS_TOKEN: auth.token }
        : { MRM_NATS_USER: auth.user, MRM_NATS_PASS: auth.pass }),
    ...(options.httpToken !== undefined ? { MRM_HTTP_TOKEN: options.httpToken } : {}),
  };

  // Every port a process listens on is its own pick (port 0), never one chosen here and bound
  // later: another process (of this cluster or not) could take it in between, and the process
  // would fail to start (decisions/0043). Workers announce their metrics URL in their heartbeats.
  const mrm = (name: string, args: readonly string[]): void => {
    record.pids[name] = spawnDetached(
      process.execPath,
      [MRM_BIN, ...args, '--nats', record.url, '--metrics-port', '0'],
      paths.log(name),
      env,
    );
  };
  const coordinatorLogStart = logSize(paths.log('coordinator'));
  mrm('coordinator', [
    'coordinator',
    '--state',
    paths.state('coordinator'),
    '--http',
    '0',
    ...(options.copies === false ? ['--no-copies'] : []),
  ]);
  const threads = options.threads !== undefined ? ['--threads', String(options.threads)] : [];
  const workerIds: string[] = [];
  for (const [role, count] of [
    ['map', options.maps],
    ['merge', options.merges],
  ] as const) {
    for (let i = 0; i < count; i++) {
      const id = `${role}-${i}`;
      workerIds.push(id);
      // Map workers get a state dir here too: their input cache, and no clash between clusters.
      mrm(id, ['worker', '--role', role, '--id', id, '--state', paths.state(id), ...(role === 'map' ? threads : [])]);
    }
  }
  writeClusterRecord(paths, record);
  await waitForWorkers(ctx, record.url, record.pids, workerIds, auth);
  const dashboard = await waitForLogLine(
    ctx,
    'coordinator',
    record.pids.coordinator ?? 0,
    DASHBOARD_LINE,
    coordinatorLogStart,
  );
  record.dashboard = dashboard[1] ?? '';
  writeClusterRecord(paths, record);
}

/** Names of the nats-servers of a cluster of `nodes` (in `cluster.json` and their logs). */
function natsNames(nodes: number): string[] {
  return nodes === 1 ? [NATS_NAME] : Array.from({ length: nodes }, (_, i) => `${NATS_NAME}-${i + 1}`);
}

/** True for the name of a nats-server of the cluster (stopped last). */
function isNatsName(name: string): boolean {
  return name === NATS_NAME || name.startsWith(`${NATS_NAME}-`);
}

/**
 * Starts the nats-server (`nodes` 1) or a JetStream cluster of `nodes` servers with routes on
 * loopback, each from a configuration file of its own (mode 0600: it may hold the login, which
 * stays off command lines anyone can list). Sets `record.url` to the URLs clients connect with,
 * comma-separated; resolves once every server accepts connections and a cluster has a metadata
 * leader.
 */
async function startNats(
  ctx: ReadinessContext,
  paths: ClusterPaths,
  record: { url: string; pids: Record<string, number>; startedAt: string },
  nodes: number,
  auth: LocalClusterOptions['natsAuth'],
): Promise<void> {
  const binary = findNatsServer();
  const names = natsNames(nodes);
  const ports = await freePorts(nodes === 1 ? 1 : 2 * nodes);
  const clientPorts = ports.slice(0, nodes);
  const routePorts = ports.slice(nodes);
  const logOffsets = names.map((name) => logSize(paths.log(name)));
  names.forEach((name, i) => {
    const storeDir = paths.natsStore(name);
    mkdirSync(storeDir, { recursive: true });
    const file = paths.natsConfig(name);
    const config = natsServerConfig({
      serverName: name,
      port: clientPorts[i] ?? 0,
      storeDir,
      ...(nodes > 1 ? { cluster: { name: 'mrm', routePort: routePorts[i] ?? 0, routePorts } } : {}),
      ...(auth !== undefined ? { auth } : {}),
    });
    writeFileSync(file, config, { mode: 0o600 });
    chmodSync(file, 0o600);
    record.pids[name] = spawnDetached(binary, ['-c', file], paths.log(name));
  });
  record.url = clientPorts.map((port) => `nats://127.0.0.1:${port}`).join(',');
  writeClusterRecord(paths, record);
  for (const [i, name] of names.entries()) {
    await waitForNats(ctx, name, record.pids[name] ?? 0, clientPorts[i] ?? 0);
  }
  if (nodes > 1) {
    for (const [i, name] of names.entries()) {
      await waitForLogLine(ctx, name, record.pids[name] ?? 0, NATS_META_LEADER_PATTERN, logOffsets[i] ?? 0);
    }
  }
}

/** Bytes in `file` now (0 when there is none): where this start's lines begin in an appended log. */
function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Starts a local cluster in `options.dir` and resolves with its record once it is ready (every
 * worker alive at the coordinator). Fails when a cluster already runs there; on any failure stops
 * what it started.
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<ClusterRecord> {
  const paths = clusterPaths(options.dir);
  const previous = readClusterRecord(paths);
  if (previous !== undefined && Object.values(previous.pids).some((pid) => isClusterProcess(pid, paths.root))) {
    throw new MrmError(
      ErrorCode.State,
      `a cluster is already running in ${options.dir} (mrm down --dir ${options.dir})`,
    );
  }
  // A record whose processes are all gone is stale (a crash, a reboot): start afresh.
  removeClusterRecord(paths);
  mkdirSync(paths.logs, { recursive: true });
  const record: { url: string; pids: Record<string, number>; startedAt: string; dashboard?: string } = {
    url: '',
    pids: {},
    startedAt: new Date().toISOString(),
  };
  try {
    await launch(options, paths, record);
  } catch (e) {
    await stopProcesses(paths, record, 5_000);
    removeClusterRecord(paths);
    throw e;
  }
  return record;
}

/**
 * SIGTERMs those of `names` still running (their process groups), waits up to `graceMs` for them
 * to exit, then SIGKILLs what is left.
 */
async function stopGroup(
  paths: ClusterPaths,
  record: ClusterRecord,
  names: readonly string[],
  graceMs: number,
): Promise<StopReport> {
  const pidOf = (name: string): number => record.pids[name] ?? 0;
  const stopped = names.filter((name) => isClusterProcess(pidOf(name), paths.root));
  for (const name of stopped) signalGroup(pidOf(name), 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (stopped.some((name) => isRunning(pidOf(name))) && Date.now() < deadline) await delay(50);
  const killed = stopped.filter((name) => isRunning(pidOf(name)));
  for (const name of killed) signalGroup(pidOf(name), 'SIGKILL');
  // SIGKILL cannot be refused; wait (bounded) until the OS has taken them away.
  const killDeadline = Date.now() + 5_000;
  while (killed.some((name) => isRunning(pidOf(name))) && Date.now() < killDeadline) await delay(50);
  return { stopped, killed };
}

/** Stops every process of `record`: workers and coordinator first (they still reach NATS), NATS last. */
async function stopProcesses(paths: ClusterPaths, record: ClusterRecord, graceMs: number): Promise<StopReport> {
  const names = Object.keys(record.pids);
  const roles = await stopGroup(
    paths,
    record,
    names.filter((n) => !isNatsName(n)),
    graceMs,
  );
  const nats = await stopGroup(paths, record, names.filter(isNatsName), graceMs);
  return { stopped: [...roles.stopped, ...nats.stopped], killed: [...roles.killed, ...nats.killed] };
}

/**
 * Stops the local cluster in `dir` and removes its `cluster.json`; undefined when there is no
 * record there. A record whose processes are all gone is removed and reported with nothing stopped.
 */
export async function stopLocalCluster(dir: string, options: StopOptions = {}): Promise<StopReport | undefined> {
  const paths = clusterPaths(dir);
  const record = readClusterRecord(paths);
  if (record === undefined) return undefined;
  const report = await stopProcesses(paths, record, options.graceMs ?? 10_000);
  removeClusterRecord(paths);
  return report;
}
