/**
 * The `mrm` commands the cluster benchmarks run against a cluster, outside any timed span:
 * `mrm status --json` for a job's own timing and the workers' counters, `mrm query` for the
 * correctness checks.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BenchFailure } from '../suite.js';

const execFileAsync = promisify(execFile);

/** What `mrm status <job-id> --json` says of a job (the fields the suites read). */
export interface ClusterJobStatus {
  readonly jobId: string;
  readonly state: string;
  readonly startedAtMs?: number;
  readonly finishedAtMs?: number;
  readonly progress?: { readonly totalBatches: number; readonly mergedBatches: number; readonly records: number };
  readonly versions?: readonly number[];
  readonly workers: ReadonlyArray<{ readonly workerId: string; readonly stats: Readonly<Record<string, number>> }>;
}

/** Runs `mrm <args>` to completion; throws a {@link BenchFailure} naming `what` when it fails. */
export async function runMrm(
  mrmBin: string,
  args: readonly string[],
  what: string,
  cwd?: string,
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileAsync(process.execPath, [mrmBin, ...args], {
      maxBuffer: 64 << 20,
      ...(cwd !== undefined ? { cwd } : {}),
    });
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? String(e);
    throw new BenchFailure(`${what} failed: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
}

/** `mrm status <jobId> --json` on the cluster at `url`. */
export async function jobStatus(mrmBin: string, url: string, jobId: string): Promise<ClusterJobStatus> {
  const { stdout } = await runMrm(mrmBin, ['status', jobId, '--json', '--nats', url], `mrm status ${jobId}`);
  return JSON.parse(stdout) as ClusterJobStatus;
}

/** `mrm query --job <job> --out <file>` on the cluster at `url` (the whole current result). */
export async function queryToFile(mrmBin: string, url: string, job: string, out: string): Promise<void> {
  await runMrm(mrmBin, ['query', '--nats', url, '--job', job, '--out', out], `mrm query --job ${job}`);
}

/** The value of one key (`mrm query --key`), or undefined when the job has no such key. */
export async function queryKey(mrmBin: string, url: string, job: string, key: string): Promise<unknown> {
  const { stdout } = await runMrm(
    mrmBin,
    ['query', '--nats', url, '--job', job, '--key', JSON.stringify(key)],
    `mrm query --job ${job} --key ${key}`,
  );
  const line = stdout.trim();
  return line === '' ? undefined : (JSON.parse(line) as { value: unknown }).value;
}

/** The job id `mrm submit` prints on its first line of stdout. */
export function submittedJobId(stdout: string): string {
  const id = stdout.trim().split('\n')[0]?.trim();
  if (id === undefined || id === '') throw new BenchFailure(`mrm submit printed no job id: '${stdout.trim()}'`);
  return id;
}
