/**
 * A local MRM cluster for the cluster benchmarks, driven through the `mrm` binary only (`mrm up`,
 * `mrm down`), as a user would run it. Its processes are read from outside through `/proc` (CPU
 * time, peak RSS), and whatever `mrm down` leaves behind is killed by process group, so a failed
 * or interrupted benchmark never leaves a cluster running.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { BenchFailure } from '../suite.js';

const execFileAsync = promisify(execFile);
/** How long `mrm up` may wait for the cluster to be ready. */
const READY_TIMEOUT_MS = 120_000;

/** How to start a local cluster. */
export interface ClusterSpec {
  readonly maps: number;
  readonly merges: number;
  /** Directory of its state and logs (`mrm up --dir`); a fresh one per cluster. */
  readonly dir: string;
  /** Map threads per map worker (default: the worker's default, one per core). */
  readonly threads?: number;
  /** false: `mrm up --no-copies` (no checkpoint copies in JetStream); default true. */
  readonly copies?: boolean;
}

/** CPU seconds and peak RSS of one cluster process, read from `/proc`. */
export interface ProcessReading {
  readonly cpuSeconds: number;
  /** The kernel's high-water mark of RSS since the process started (VmHWM). */
  readonly peakRssBytes: number | null;
}

/** Clusters started and not yet stopped: killed when the benchmark is interrupted. */
const live = new Set<LocalCluster>();
let handlersInstalled = false;

function installInterruptHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // `mrm up` detaches every process, so Ctrl-C on the benchmark would not reach them.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const cluster of live) cluster.killLeftovers();
      process.exit(130);
    });
  }
  process.once('exit', () => {
    for (const cluster of live) cluster.killLeftovers();
  });
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds of a live process and its threads; null when it is gone. */
export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at state, field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / clockTicks();
  } catch {
    return null;
  }
}

function peakRss(pid: number): number | null {
  try {
    const m = /^VmHWM:\s*(\d+)\s*kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] !== undefined ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU seconds each process spent between two {@link LocalCluster.readings} (processes in both). */
export function cpuBetween(
  before: Readonly<Record<string, ProcessReading>>,
  after: Readonly<Record<string, ProcessReading>>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, b] of Object.entries(before)) {
    const a = after[name];
    if (a !== undefined) out[name] = Math.round((a.cpuSeconds - b.cpuSeconds) * 100) / 100;
  }
  return out;
}

/** True when `pid` is alive and its command line mentions `dir` (so it is this cluster's, not a reused pid). */
function belongsTo(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
  } catch {
    return false;
  }
}

/** A running local cluster started with `mrm up`. */
export class LocalCluster {
  private stopped = false;

  private constructor(
    private readonly mrmBin: string,
    readonly spec: ClusterSpec,
    /** `nats://127.0.0.1:<port>`. */
    readonly url: string,
    /** Process name (`nats-server`, `coordinator`, `map-0`, `merge-0`…) → pid, from `cluster.json`. */
    readonly pids: Readonly<Record<string, number>>,
    /** How long `mrm up` took (not part of any timed figure). */
    readonly startupSeconds: number,
  ) {}

  /** Runs `mrm up` and resolves once every worker is alive at the coordinator. */
  static async start(mrmBin: string, spec: ClusterSpec): Promise<LocalCluster> {
    installInterruptHandlers();
    const dir = resolve(spec.dir);
    const args = [mrmBin, 'up', '--maps', String(spec.maps), '--merges', String(spec.merges), '--dir', dir];
    if (spec.threads !== undefined) args.push('--threads', String(spec.threads));
    if (spec.copies === false) args.push('--no-copies');
    // Two minutes, not `mrm up`'s 30 s: on a loaded shared machine workers take longer to come up.
    args.push('--timeout', String(READY_TIMEOUT_MS));
    const started = performance.now();
    let stdout: string;
    try {
      ({ stdout } = await execFileAsync(process.execPath, args, { maxBuffer: 1 << 20 }));
    } catch (e) {
      // `mrm up` stops what it started when it fails; make sure, then say why.
      killRecorded(dir);
      const stderr = (e as { stderr?: string }).stderr ?? String(e);
      // The suite deletes its folder on the way out: the logs that say why go somewhere kept.
      const kept = keepLogs(dir);
      throw new BenchFailure(
        `mrm up (${spec.maps} map + ${spec.merges} merge) failed: ${stderr.trim().split('\n').at(-1)}${kept !== undefined ? ` (its logs are kept in ${kept})` : ''}`,
      );
    }
    const startupSeconds = (performance.now() - started) / 1000;
    const url = /MRM_NATS_URL=(\S+)/.exec(stdout)?.[1];
    const pids = readPids(dir);
    if (url === undefined) {
      killRecorded(dir);
      throw new BenchFailure(`mrm up printed no MRM_NATS_URL: '${stdout.trim()}'`);
    }
    const cluster = new LocalCluster(mrmBin, { ...spec, dir }, url, pids, startupSeconds);
    live.add(cluster);
    return cluster;
  }

  /** CPU seconds and peak RSS of every process of the cluster now (gone processes are left out). */
  readings(): Record<string, ProcessReading> {
    const out: Record<string, ProcessReading> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const cpuSeconds = processCpuSeconds(pid);
      if (cpuSeconds !== null) out[name] = { cpuSeconds, peakRssBytes: peakRss(pid) };
    }
    return out;
  }

  /** Sends SIGKILL to process `name` of the cluster (its own pid only); returns when sent. */
  kill(name: string): void {
    const pid = this.pids[name];
    if (pid === undefined || !belongsTo(pid, this.spec.dir))
      throw new BenchFailure(`no running process '${name}' in the cluster`);
    process.kill(pid, 'SIGKILL');
  }

  /** The whole log of process `name` ('' when there is none). */
  log(name: string): string {
    try {
      return readFileSync(join(this.spec.dir, 'logs', `${name}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  /** The log of process `name` (for a failure message). */
  logTail(name: string, lines = 5): string {
    try {
      return readFileSync(join(this.spec.dir, 'logs', `${name}.log`), 'utf8')
        .trim()
        .split('\n')
        .slice(-lines)
        .join(' | ');
    } catch {
      return '(no log)';
    }
  }

  /** `mrm down`, then SIGKILL to whatever of the cluster still runs. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await execFileAsync(process.execPath, [this.mrmBin, 'down', '--dir', this.spec.dir], { timeout: 60_000 });
    } catch {
      // Killed below.
    } finally {
      this.killLeftovers();
      live.delete(this);
    }
  }

  /** Kills (SIGKILL, by process group) every process of this cluster that is still running. */
  killLeftovers(): void {
    for (const pid of Object.values(this.pids)) killGroup(pid, this.spec.dir);
  }
}

function readPids(dir: string): Record<string, number> {
  try {
    const record = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as { pids?: Record<string, number> };
    return { ...(record.pids ?? {}) };
  } catch {
    return {};
  }
}

function killRecorded(dir: string): void {
  for (const pid of Object.values(readPids(dir))) killGroup(pid, dir);
}

function killGroup(pid: number, dir: string): void {
  if (!belongsTo(pid, dir)) return;
  try {
    // `mrm up` spawns each process detached: it leads its own process group.
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Copies `<dir>/logs` into a new folder under the temp dir that nothing deletes; its path, or undefined. */
function keepLogs(dir: string): string | undefined {
  try {
    const kept = mkdtempSync(join(tmpdir(), 'mrm-bench-failed-up-'));
    cpSync(join(dir, 'logs'), kept, { recursive: true });
    return kept;
  } catch {
    return undefined;
  }
}
