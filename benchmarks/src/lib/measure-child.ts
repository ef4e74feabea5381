/**
 * Runs one command as a child process and measures it from outside: wall time, peak resident set
 * size and CPU time. Each contender runs in its own process so that its memory is its own and
 * one contender's garbage or JIT state cannot help or hurt the next.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How peak RSS is read: GNU time's `-v` report, or polling `/proc/<pid>/status` (VmHWM). */
export type RssMethod = 'time-v' | 'proc-poll' | 'none';

/** What a finished child left and what it cost. */
export interface ChildMeasurement {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Spawn to exit, milliseconds, measured by this process. */
  readonly wallMs: number;
  /** Peak RSS in bytes; it covers the child's worker threads, which share its memory. */
  readonly peakRssBytes: number | null;
  /** User + system CPU seconds of the child (and its threads); only with `time-v`. */
  readonly cpuSeconds: number | null;
  /**
   * The largest anonymous (heaps, buffers) and file-backed (the binary, mmap'd files such as an
   * LMDB map) parts of RSS seen by polling `/proc`: they tell memory the process allocated from
   * file pages the kernel can drop. Lower bounds; null where `/proc` cannot be read.
   */
  readonly peakRssAnonBytes: number | null;
  readonly peakRssFileBytes: number | null;
  readonly rssMethod: RssMethod;
}

const GNU_TIME = '/usr/bin/time';
let probed: RssMethod | undefined;

/**
 * The best way to read a child's peak RSS here. `MRM_BENCH_RSS=proc` forces polling (to test it);
 * `/usr/bin/time` is used only when it understands `-v -o` (BusyBox and BSD `time` may not).
 */
export function rssMethod(): RssMethod {
  if (process.env.MRM_BENCH_RSS === 'proc') return canPollProc() ? 'proc-poll' : 'none';
  if (probed !== undefined) return probed;
  const dir = mkdtempSync(join(tmpdir(), 'mrm-bench-probe-'));
  try {
    const report = join(dir, 'time.txt');
    const probe = spawnSync(GNU_TIME, ['-v', '-o', report, process.execPath, '-e', '0'], { stdio: 'ignore' });
    const ok = probe.status === 0 && parseTimeReport(readFileSync(report, 'utf8')).peakRssBytes !== null;
    probed = ok ? 'time-v' : canPollProc() ? 'proc-poll' : 'none';
  } catch {
    probed = canPollProc() ? 'proc-poll' : 'none';
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return probed;
}

function canPollProc(): boolean {
  try {
    return readVmHwm(process.pid) !== null;
  } catch {
    return false;
  }
}

/** Peak RSS and CPU seconds from a GNU `time -v` report. */
export function parseTimeReport(text: string): { peakRssBytes: number | null; cpuSeconds: number | null } {
  const field = (label: string): number | null => {
    const m = new RegExp(`${label}[^:]*:\\s*([\\d.]+)`).exec(text);
    return m?.[1] !== undefined ? Number(m[1]) : null;
  };
  const rssKb = field('Maximum resident set size');
  const user = field('User time');
  const system = field('System time');
  return {
    peakRssBytes: rssKb !== null ? rssKb * 1024 : null,
    cpuSeconds: user !== null && system !== null ? user + system : null,
  };
}

/** Memory fields of a live process from `/proc/<pid>/status`, in bytes (null: field absent). */
interface ProcMemory {
  /** The kernel's high-water mark of RSS. */
  readonly hwm: number | null;
  readonly anon: number | null;
  readonly file: number | null;
}

function readProcMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s*(\\d+)\\s*kB`, 'm').exec(status);
    return m?.[1] !== undefined ? Number(m[1]) * 1024 : null;
  };
  return { hwm: field('VmHWM'), anon: field('RssAnon'), file: field('RssFile') };
}

function readVmHwm(pid: number): number | null {
  return readProcMemory(pid).hwm;
}

/** The process to poll: the child itself, or under `time` the command `time` started. */
function measuredPid(pid: number, underTime: boolean): number | undefined {
  if (!underTime) return pid;
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
    return first !== undefined && first !== '' ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

const max = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/** Options of {@link measureChild}. */
export interface MeasureOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** How often to poll `/proc/<pid>/status` (RssAnon, RssFile; VmHWM with `proc-poll`); default 20 ms. */
  readonly pollMs?: number;
}

/** Runs `command args` to completion and measures it. */
export function measureChild(
  command: string,
  args: readonly string[],
  options: MeasureOptions = {},
): Promise<ChildMeasurement> {
  const method = rssMethod();
  const dir = method === 'time-v' ? mkdtempSync(join(tmpdir(), 'mrm-bench-time-')) : undefined;
  const report = dir !== undefined ? join(dir, 'time.txt') : undefined;
  const [file, argv] = report !== undefined ? [GNU_TIME, ['-v', '-o', report, command, ...args]] : [command, [...args]];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, argv, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    // Polled whatever the method, for the anonymous/file split of RSS; with 'proc-poll' also the
    // peak itself. VmHWM only grows, so its last reading is the best lower bound of the peak we
    // can get without the child's help; what it allocates after the last poll is missed.
    const polled = { hwm: null as number | null, anon: null as number | null, file: null as number | null };
    let target: number | undefined;
    const poll =
      child.pid !== undefined && canPollProc()
        ? setInterval(() => {
            try {
              target ??= measuredPid(child.pid as number, method === 'time-v');
              if (target === undefined) return;
              const now = readProcMemory(target);
              polled.hwm = max(polled.hwm, now.hwm);
              polled.anon = max(polled.anon, now.anon);
              polled.file = max(polled.file, now.file);
            } catch {
              // The child has exited between two polls; keep the last readings.
            }
          }, options.pollMs ?? 20)
        : undefined;
    child.on('error', (e) => {
      if (poll !== undefined) clearInterval(poll);
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      reject(e);
    });
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - started;
      if (poll !== undefined) clearInterval(poll);
      let timed: ReturnType<typeof parseTimeReport> = { peakRssBytes: polled.hwm, cpuSeconds: null };
      if (report !== undefined && dir !== undefined) {
        try {
          timed = parseTimeReport(readFileSync(report, 'utf8'));
        } catch {
          // No report (time itself failed): the measurement has no RSS, the exit code says why.
        }
        rmSync(dir, { recursive: true, force: true });
      }
      resolve({
        code,
        signal,
        stdout,
        stderr,
        wallMs,
        peakRssBytes: timed.peakRssBytes,
        cpuSeconds: timed.cpuSeconds,
        peakRssAnonBytes: polled.anon,
        peakRssFileBytes: polled.file,
        rssMethod: method,
      });
    });
  });
}
