/**
 * The OS processes of a local cluster (`mrm up`): finding nats-server, picking a free port,
 * spawning a process that outlives `mrm up`, and telling whether a recorded pid is still one of ours.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { sep } from 'node:path';
import { ErrorCode, MrmError } from '@mrm/core';

/** Where nats-server and free ports are found: one place, shared with the test launcher. */
export { findNatsServer, freePort, freePorts } from '@mrm/runtime';

/**
 * True when something accepts TCP connections on 127.0.0.1:`port`; false as well when the
 * connection is not made within `timeoutMs` (a server whose backlog is full drops the attempt
 * silently, and the kernel would retry it for minutes: a start-up wait must stay bounded).
 */
export function acceptsConnections(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: timeoutMs });
    const answer = (accepted: boolean) => {
      socket.destroy();
      resolve(accepted);
    };
    socket.once('connect', () => answer(true));
    socket.once('timeout', () => answer(false));
    socket.once('error', () => answer(false));
  });
}

/**
 * Starts `command args` detached: its own process group (so a terminal's Ctrl-C and the exit of
 * `mrm up` do not reach it), stdout and stderr appended to `logFile`, not waited for. Returns the pid.
 */
export function spawnDetached(
  command: string,
  args: readonly string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): number {
  const log = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log], env });
    if (child.pid === undefined) {
      throw new MrmError(ErrorCode.Internal, `could not start ${command} (see ${logFile})`);
    }
    // A spawn error after the pid exists (rare) shows up as a dead pid in the readiness check.
    child.on('error', () => {});
    child.unref();
    return child.pid;
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(log);
  }
}

/** The command line of `pid` (Linux /proc), or undefined where it cannot be read. */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

/** True for a zombie (exited, not yet reaped): it counts as gone. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name, which may itself hold spaces or ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** True when `pid` runs (and is not a zombie). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

/**
 * True when `pid` runs and is a process of the cluster in the absolute directory `dir`. Every
 * process `mrm up` starts names a path under `dir` on its command line, so a pid the OS has since
 * reused for something else is not ours (where /proc is missing, a running pid is taken as ours).
 */
export function isClusterProcess(pid: number, dir: string): boolean {
  if (!isRunning(pid)) return false;
  const line = commandLine(pid);
  return line === undefined || line.includes(`${dir}${sep}`);
}

/** Sends `signal` to the process group of `pid` (all it started too), else to `pid` alone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
