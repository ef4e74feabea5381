/**
 * A real cluster for integration tests: a nats-server (JetStream, free port; or a cluster of
 * `natsNodes` of them, routes on loopback), a coordinator and
 * map / merge workers, each a separate `mrm` process in its own process group with its own temp
 * state directory, and a stable id. `stop()` kills every process and removes every directory.
 *
 * ```ts
 * const cluster = await TestCluster.start({ maps: 2, merges: 2 });
 * afterEach(() => cluster.stop());
 * const r = await cluster.mrm(['submit', job, '--input', data, '--wait', '--nats', cluster.url]);
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, watch } from 'node:fs';
import { dirname, join } from 'node:path';
import type { JobStatus, WorkerStatus } from '@mrm/core';
import {
  type NatsClusterHandle,
  type NatsServerHandle,
  type NatsServerOptions,
  startNatsCluster,
  startNatsServer,
} from '@mrm/testkit';
import { onTestFailed } from 'vitest';
import { type CliResult, MRM_BIN, tempDir } from './cli-helpers.js';

/** Role of a cluster process. */
export type ClusterRole = 'coordinator' | 'map' | 'merge';

/** `mrm status --json` without a job id. */
export interface ClusterStatus {
  readonly jobs: JobStatus[];
  readonly workers: WorkerStatus[];
}

/** Options of {@link TestCluster.start}. */
export interface TestClusterOptions {
  /** Map workers started with the cluster (ids map-1…); default 1. */
  readonly maps?: number;
  /** Merge workers started with the cluster (ids merge-1…); default 1. */
  readonly merges?: number;
  /** `mrm coordinator --heartbeat-timeout`; default the coordinator's own (5 s). */
  readonly heartbeatTimeoutMs?: number;
  /** `mrm coordinator --worker-wait`; default 5 000 ms (tests fail fast when workers are missing). */
  readonly workerWaitMs?: number;
  /** `mrm worker --threads` of map workers; default 1 (a test machine has few cores). */
  readonly mapThreads?: number;
  /** More arguments of `mrm coordinator` (`--http 0`…). */
  readonly coordinatorArgs?: readonly string[];
  /** More arguments of every `mrm worker` (`--metrics-port 0`…). */
  readonly workerArgs?: readonly string[];
  /** Options of the nats-server (its `config`: TLS, an operator set-up…); JetStream is always on. */
  readonly nats?: NatsServerOptions;
  /**
   * nats-servers of a JetStream cluster to run on instead of one server (then `nats` options and
   * `url` do not apply, and {@link TestCluster.natsCluster} gives the nodes); default 1.
   */
  readonly natsNodes?: number;
  /** Environment of every process and `mrm` command (`MRM_NATS_CREDS`…), over a clean one. */
  readonly env?: NodeJS.ProcessEnv;
  /** The URL processes and commands are given; default the server's `nats://127.0.0.1:<port>`. */
  readonly url?: (server: NatsServerHandle) => string;
}

/** How long a process may take to say it is ready, or the cluster to see a worker. */
const READY_TIMEOUT_MS = Number(process.env.T_READY_TIMEOUT_MS ?? 20_000);
/** Time between two `mrm status` polls. */
const POLL_MS = 200;

/** The environment without MRM_* variables, so a developer's cluster settings cannot leak in. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MRM_')) env[k] = v;
  return { ...env, ...extra };
}

/** Copies files into `dir` (a test owns its input: batch ids hang on the path); returns the copies. */
export function copyInto(dir: string, files: readonly string[], prefix = ''): string[] {
  mkdirSync(dir, { recursive: true });
  return files.map((f) => {
    const to = join(dir, `${prefix}${f.slice(f.lastIndexOf('/') + 1)}`);
    copyFileSync(f, to);
    return to;
  });
}

/**
 * Resolves when `path` exists, watching its folder (jobs in tests write a marker file from `map`
 * to say "the job is under way now").
 */
export function fileAppears(path: string, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const watcher = watch(dirname(path), () => {
      if (existsSync(path)) done();
    });
    const timer = setTimeout(() => done(new Error(`${path} did not appear within ${timeoutMs} ms`)), timeoutMs);
    const done = (error?: Error) => {
      clearTimeout(timer);
      watcher.close();
      if (error === undefined) resolve();
      else reject(error);
    };
    if (existsSync(path)) done();
  });
}

/** One `mrm` process of the cluster. */
export class ClusterProcess {
  private log = '';
  private readonly watchers = new Set<() => void>();
  /** Settles when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    readonly role: ClusterRole,
    readonly stateDir: string,
    private readonly child: ChildProcess,
  ) {
    const take = (d: Buffer) => {
      this.log += d.toString();
      for (const w of this.watchers) w();
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.exited.then(() => {
      for (const w of this.watchers) w();
    });
  }

  /** Operating-system process id. */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** True once the process has exited. */
  get hasExited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Everything the process wrote to stdout and stderr so far. */
  output(): string {
    return this.log;
  }

  /** Resolves when the output matches `pattern`; rejects when the process exits first or on timeout. */
  waitForOutput(pattern: RegExp, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (pattern.test(this.log)) finish();
        else if (this.hasExited) finish(new Error(`${this.name} exited before printing ${pattern}:\n${this.log}`));
      };
      const timer = setTimeout(
        () => finish(new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms:\n${this.log}`)),
        timeoutMs,
      );
      const finish = (error?: Error) => {
        clearTimeout(timer);
        this.watchers.delete(check);
        if (error === undefined) resolve();
        else reject(error);
      };
      this.watchers.add(check);
      check();
    });
  }

  /** Sends a signal to the process. */
  signal(signal: NodeJS.Signals): void {
    if (!this.hasExited) process.kill(this.pid, signal);
  }

  /** Resident memory in bytes, from /proc (also readable while the process is stopped). */
  rssBytes(): number {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
    if (m === null) throw new Error(`no VmRSS for ${this.name} (pid ${this.pid})`);
    return Number(m[1]) * 1024;
  }

  /** Kills the whole process group (worker threads and all) and waits for the exit. */
  async kill(): Promise<void> {
    if (!this.hasExited) {
      try {
        process.kill(-this.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await this.exited;
  }
}

/**
 * Checks two result files are equal key for key; on a difference, names the first differing
 * line instead of printing two whole files.
 */
export function expectSameResult(actualPath: string, expectedPath: string): void {
  const actual = readFileSync(actualPath, 'utf8').split('\n');
  const expected = readFileSync(expectedPath, 'utf8').split('\n');
  const i = actual.findIndex((line, n) => line !== expected[n]);
  const at = i >= 0 ? i : actual.length < expected.length ? actual.length : -1;
  if (at >= 0) {
    throw new Error(
      `${actualPath} differs from ${expectedPath} at line ${at + 1} (${actual.length} vs ${expected.length} lines): ` +
        `${JSON.stringify(actual[at])} vs ${JSON.stringify(expected[at])}`,
    );
  }
  if (expected.length < 2) throw new Error(`${expectedPath} is empty: a test must compare real results`);
}

/** A nats-server, a coordinator and workers, all real processes. */
export class TestCluster {
  private readonly processes: ClusterProcess[] = [];
  /** `mrm` commands still running. */
  private readonly clients = new Set<ChildProcess>();
  private readonly cleanups: Array<() => void> = [];
  private coordinatorProcess: ClusterProcess | undefined;

  private constructor(
    private readonly server: NatsServerHandle | NatsClusterHandle,
    /** A temp dir for the test's own files (jobs, inputs, outputs); removed by `stop()`. */
    readonly dir: string,
    private readonly options: TestClusterOptions,
  ) {}

  /** Starts nats-server, a coordinator and the workers, and waits until status shows every worker alive. */
  static async start(options: TestClusterOptions = {}): Promise<TestCluster> {
    const nodes = options.natsNodes ?? 1;
    const nats =
      nodes > 1 ? await startNatsCluster({ nodes }) : await startNatsServer({ ...options.nats, jetstream: true });
    const { dir, cleanup } = tempDir();
    const cluster = new TestCluster(nats, dir, options);
    cluster.cleanups.push(cleanup);
    // A failing (or timed-out) test shows what every process said.
    onTestFailed(() => {
      process.stderr.write(`${cluster.logs()}\n`);
    });
    try {
      await cluster.startCoordinator();
      const ids = [
        ...Array.from({ length: options.maps ?? 1 }, (_, i) => ({ role: 'map' as const, id: `map-${i + 1}` })),
        ...Array.from({ length: options.merges ?? 1 }, (_, i) => ({ role: 'merge' as const, id: `merge-${i + 1}` })),
      ];
      await Promise.all(ids.map(({ role, id }) => cluster.spawnWorker(role, id)));
      await cluster.waitForWorkers(ids.map((w) => w.id));
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  /** `nats://127.0.0.1:<port>` (or what the `url` option made of it); every node's URL on a NATS cluster. */
  get url(): string {
    return 'nodes' in this.server ? this.server.url : (this.options.url?.(this.server) ?? this.server.url);
  }

  /** The one nats-server (throws when the cluster runs on several: see {@link natsCluster}). */
  get nats(): NatsServerHandle {
    if ('nodes' in this.server) throw new Error('this test cluster runs on a NATS cluster: use natsCluster');
    return this.server;
  }

  /** The nats-servers of a cluster started with `natsNodes` (throws on one server). */
  get natsCluster(): NatsClusterHandle {
    if (!('nodes' in this.server)) throw new Error('this test cluster runs on one nats-server: use nats');
    return this.server;
  }

  /** The coordinator process. */
  get coordinator(): ClusterProcess {
    if (this.coordinatorProcess === undefined) throw new Error('the cluster has no coordinator');
    return this.coordinatorProcess;
  }

  /** The process named `name` (a worker id, or 'coordinator'). */
  process(name: string): ClusterProcess {
    const p = this.processes.find((x) => x.name === name);
    if (p === undefined) throw new Error(`no cluster process '${name}'`);
    return p;
  }

  private spawn(name: string, role: ClusterRole, args: string[]): ClusterProcess {
    const stateDir = join(this.dir, 'procs', name);
    // T_VERBOSE=1 makes every process log at debug level (for a failing test's story).
    const verbose = process.env.T_VERBOSE ? ['--verbose'] : [];
    const child = spawn(process.execPath, [MRM_BIN, ...verbose, ...args, '--state', stateDir], {
      env: cleanEnv(this.options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so kill(-pid) also takes whatever it started.
      detached: true,
    });
    const p = new ClusterProcess(name, role, stateDir, child);
    this.processes.push(p);
    return p;
  }

  /** The coordinator's HTTP address (`http://127.0.0.1:<port>`), from its log; it needs `--http`. */
  async dashboardUrl(): Promise<string> {
    await this.coordinator.waitForOutput(/dashboard ready .*url=(\S+)/);
    return /dashboard ready .*url=(\S+)/.exec(this.coordinator.output())?.[1] ?? '';
  }

  /**
   * Kills the coordinator (SIGKILL) and starts a new one: on the same state directory, or with
   * `name`, on a new, empty one (as on another machine). Resolves once the new one leads (after
   * the dead one's lead has lapsed).
   */
  async restartCoordinator(name = 'coordinator'): Promise<ClusterProcess> {
    await this.coordinator.kill();
    return this.startCoordinator(name);
  }

  /**
   * Starts one more `mrm coordinator` on this cluster, on its own empty state directory; resolves
   * once it says it stands by (or leads). {@link promote} it once it leads.
   */
  async addCoordinator(name: string): Promise<ClusterProcess> {
    const p = this.spawn(name, 'coordinator', this.coordinatorArgs());
    await p.waitForOutput(/standing by|coordinator ready/);
    return p;
  }

  /** From now on {@link coordinator} (its log, its joins) is `p`: a standby that took over. */
  promote(p: ClusterProcess): void {
    this.coordinatorProcess = p;
  }

  /** Starts a coordinator and waits until it says it leads and is ready. */
  private async startCoordinator(name = 'coordinator'): Promise<ClusterProcess> {
    const p = this.spawn(name, 'coordinator', this.coordinatorArgs());
    this.coordinatorProcess = p;
    await p.waitForOutput(/coordinator ready/);
    return p;
  }

  private coordinatorArgs(): string[] {
    const o = this.options;
    return [
      'coordinator',
      '--nats',
      this.url,
      '--worker-wait',
      String(o.workerWaitMs ?? 5000),
      ...(o.heartbeatTimeoutMs !== undefined ? ['--heartbeat-timeout', String(o.heartbeatTimeoutMs)] : []),
      ...(o.coordinatorArgs ?? []),
    ];
  }

  private async spawnWorker(role: 'map' | 'merge', id: string): Promise<ClusterProcess> {
    const threads = role === 'map' ? ['--threads', String(this.options.mapThreads ?? 1)] : [];
    const p = this.spawn(id, role, [
      'worker',
      '--role',
      role,
      '--id',
      id,
      '--nats',
      this.url,
      ...threads,
      ...(this.options.workerArgs ?? []),
    ]);
    await p.waitForOutput(/worker ready/);
    return p;
  }

  /**
   * Kills worker `name` (SIGKILL to its own pid, checked) and starts `newId` in its role with a new,
   * empty state directory; waits only until the new process says it is ready.
   */
  async replaceWorker(name: string, newId: string): Promise<ClusterProcess> {
    const old = this.process(name);
    await old.kill();
    if ((await old.exited).signal !== 'SIGKILL') throw new Error(`${name} was not killed by SIGKILL`);
    if (old.role === 'coordinator') throw new Error('replaceWorker takes a worker');
    return this.spawnWorker(old.role, newId);
  }

  /**
   * Kills worker `name` (SIGKILL to its own pid, checked) and starts it again under the same id on
   * the same state directory, as a container's restart policy does; waits until it is ready.
   */
  async restartWorker(name: string): Promise<ClusterProcess> {
    const old = this.process(name);
    await old.kill();
    if ((await old.exited).signal !== 'SIGKILL') throw new Error(`${name} was not killed by SIGKILL`);
    if (old.role === 'coordinator') throw new Error('restartWorker takes a worker');
    this.processes.splice(this.processes.indexOf(old), 1);
    return this.spawnWorker(old.role, name);
  }

  /**
   * Kills worker `name` with SIGKILL to its own pid (checked), deletes its state directory and
   * starts it again under the same id on a new, empty one, as a container rescheduled without its
   * volume does; waits until it is ready.
   */
  async restartWorkerEmpty(name: string): Promise<ClusterProcess> {
    const old = this.process(name);
    if (old.role === 'coordinator') throw new Error('restartWorkerEmpty takes a worker');
    process.kill(old.pid, 'SIGKILL');
    if ((await old.exited).signal !== 'SIGKILL') throw new Error(`${name} was not killed by SIGKILL`);
    rmSync(old.stateDir, { recursive: true, force: true });
    this.processes.splice(this.processes.indexOf(old), 1);
    return this.spawnWorker(old.role, name);
  }

  /** Starts one more worker and waits until status shows it alive. */
  async addWorker(role: 'map' | 'merge', id: string): Promise<ClusterProcess> {
    const p = await this.spawnWorker(role, id);
    await this.waitForWorkers([id]);
    return p;
  }

  /**
   * `mrm submit <job> --input <inputs…> --wait --out <out> [extra…] --nats <this cluster>`: the
   * outcome once the job has finished (or failed).
   */
  submitWait(job: string, inputs: readonly string[], out: string, extra: readonly string[] = []): Promise<CliResult> {
    return this.mrm(['submit', job, '--input', ...inputs, '--wait', '--out', out, ...extra, '--nats', this.url]);
  }

  /** Waits until `mrm status --json` lists every one of `ids` as alive. */
  async waitForWorkers(ids: readonly string[]): Promise<ClusterStatus> {
    // The coordinator logs each join: wait for that first, so status is asked once, not polled blind.
    await Promise.all(ids.map((id) => this.coordinator.waitForOutput(new RegExp(`worker joined .*worker=${id}\\b`))));
    return this.until(
      (s) => ids.every((id) => s.workers.some((w) => w.workerId === id && w.alive)),
      `workers ${ids.join(', ')} alive`,
    );
  }

  /**
   * Runs `mrm <args>` to completion with a clean environment (plus `env`). Unlike a plain spawn,
   * `stop()` kills it if the test ends first (a `submit --wait` on a dead cluster waits forever).
   * `onSpawn` gets its process id (a test may stop and continue it).
   */
  mrm(args: readonly string[], env: NodeJS.ProcessEnv = {}, onSpawn?: (pid: number) => void): Promise<CliResult> {
    const child = spawn(process.execPath, [MRM_BIN, ...args], {
      cwd: this.dir,
      env: cleanEnv({ ...this.options.env, ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.clients.add(child);
    if (child.pid !== undefined) onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        this.clients.delete(child);
        resolve({ code, signal, stdout, stderr });
      });
    });
  }

  /** `mrm status --json`, parsed. */
  async status(): Promise<ClusterStatus> {
    const r = await this.mrm(['status', '--json', '--nats', this.url]);
    if (r.code !== 0) throw new Error(`mrm status failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as ClusterStatus;
  }

  /** `mrm status <job-id> --json`, parsed. */
  async jobStatus(jobId: string): Promise<JobStatus & { workers: WorkerStatus[] }> {
    const r = await this.mrm(['status', jobId, '--json', '--nats', this.url]);
    if (r.code !== 0) throw new Error(`mrm status ${jobId} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as JobStatus & { workers: WorkerStatus[] };
  }

  /** Polls `mrm status --json` until `predicate` holds; rejects with the last status after `timeoutMs`. */
  async until(
    predicate: (s: ClusterStatus) => boolean,
    what: string,
    timeoutMs = READY_TIMEOUT_MS,
  ): Promise<ClusterStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.status();
      if (predicate(s)) return s;
      if (Date.now() > deadline) {
        throw new Error(`cluster never reached: ${what}; last status: ${JSON.stringify(s)}`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** The logs of every process, for a failing test's message. */
  logs(): string {
    return this.processes.map((p) => `--- ${p.name} (pid ${p.pid})\n${p.output()}`).join('\n');
  }

  /** Kills every process, stops nats-server, removes every directory. */
  async stop(): Promise<void> {
    for (const c of this.clients) {
      try {
        if (c.pid !== undefined) process.kill(-c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await Promise.all(this.processes.map((p) => p.kill()));
    await this.server.stop();
    for (const c of this.cleanups) c();
  }
}
