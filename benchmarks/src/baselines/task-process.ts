/** Runs one task of a baseline as a fresh `node` process and reads the JSON line it prints. */
import { spawn } from 'node:child_process';
import { ErrorCode, MrmError } from '@mrm/core';

/**
 * Spawns `node <script> <JSON of spec>`; resolves with the last stdout line parsed as JSON, or
 * rejects with `E_JOB_FAILED` naming `what` and the task's one-line error.
 */
export function runTaskProcess<T>(script: string, spec: unknown, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', (error) =>
      reject(new MrmError(ErrorCode.JobFailed, `${what}: cannot start a process: ${error.message}`, { cause: error })),
    );
    child.on('close', (code, signal) => {
      if (code === 0) {
        try {
          resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as T);
        } catch {
          reject(new MrmError(ErrorCode.JobFailed, `${what}: printed no result`));
        }
        return;
      }
      const why = stderr.trim().split('\n')[0] || (signal !== null ? `killed by ${signal}` : `exit code ${code}`);
      reject(new MrmError(ErrorCode.JobFailed, `${what} failed: ${why}`));
    });
  });
}

/** Runs `tasks` with at most `slots` at once; resolves with their results in order. */
export async function runWithSlots<T>(tasks: ReadonlyArray<() => Promise<T>>, slots: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  let failed = false;
  const slot = async () => {
    for (let i = next++; i < tasks.length && !failed; i = next++) {
      try {
        results[i] = await (tasks[i] as () => Promise<T>)();
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(slots, tasks.length) }, slot));
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected !== undefined) throw rejected.reason;
  return results;
}
