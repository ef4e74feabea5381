/**
 * `mrm baseline hadoop|records`: the same job file run the way Hadoop MapReduce or a
 * record-at-a-time stream processor runs it, for comparison (docs/baselines.md). The baselines
 * live in @mrm/benchmarks, imported only when one of these commands runs; the result goes
 * through the same writer as `mrm run --out`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expandInputs, type SourceFile } from '@mrm/input';
import { type LoadedJob, loadJob } from '../job-loader.js';
import { say, seconds, thousands } from '../report.js';
import { writeJsonLines } from '../result-writer.js';

/** Options both baselines take. */
interface BaselineCommonOptions {
  readonly input: string[];
  readonly state?: string;
  readonly out?: string;
  readonly quiet?: boolean;
}

/** Options of `mrm baseline hadoop`. */
export interface HadoopBaselineCommandOptions extends BaselineCommonOptions {
  readonly splitMb?: number;
  readonly sortMb?: number;
  readonly reducers?: number;
  readonly parallelCopies?: number;
  readonly slots?: number;
}

/** Options of `mrm baseline records`. */
export interface RecordsBaselineCommandOptions extends BaselineCommonOptions {
  readonly nats?: string;
  readonly bolts?: number;
  readonly maxPending?: number;
}

const MIB = 1024 * 1024;

/** Loads the job and the inputs, runs `body`, and removes the temporary bundle cache. */
async function withJob<T>(
  jobPath: string,
  options: BaselineCommonOptions,
  body: (loaded: LoadedJob, inputs: SourceFile[], log: (line: string) => void) => Promise<T>,
): Promise<T> {
  const bundles = options.state !== undefined ? undefined : await mkdtemp(path.join(tmpdir(), 'mrm-baseline-bundles-'));
  try {
    const loaded = await loadJob(jobPath, bundles ?? path.join(options.state as string, 'bundles'));
    const inputs = await expandInputs(options.input);
    return await body(loaded, inputs, options.quiet === true ? () => {} : say);
  } finally {
    if (bundles !== undefined) await rm(bundles, { recursive: true, force: true });
  }
}

/** Writes the result when asked, then releases the run. */
async function finish(run: { entries(): AsyncIterable<{ key: string; value: unknown }>; close(): void }, out?: string) {
  try {
    if (out !== undefined) await writeJsonLines(run.entries(), out);
  } finally {
    run.close();
  }
}

/** Runs `mrm baseline hadoop`. */
export async function hadoopBaselineCommand(jobPath: string, options: HadoopBaselineCommandOptions): Promise<void> {
  const started = performance.now();
  const { runHadoopBaseline } = await import('@mrm/benchmarks');
  await withJob(jobPath, options, async (loaded, inputs, log) => {
    const run = await runHadoopBaseline({
      job: loaded.job,
      bundlePath: loaded.bundlePath,
      inputs,
      ...(options.state !== undefined ? { stateDir: options.state } : {}),
      options: {
        ...(options.splitMb !== undefined ? { splitBytes: Math.max(1, Math.round(options.splitMb * MIB)) } : {}),
        ...(options.sortMb !== undefined ? { sortBufferBytes: Math.max(1, Math.round(options.sortMb * MIB)) } : {}),
        ...(options.reducers !== undefined ? { reducers: options.reducers } : {}),
        ...(options.parallelCopies !== undefined ? { parallelCopies: options.parallelCopies } : {}),
        ...(options.slots !== undefined ? { slots: options.slots } : {}),
      },
      log,
    });
    await finish(run, options.out);
    say(
      `${loaded.job.name}: hadoop-style baseline: ${thousands(run.records)} records from ${run.inputFiles} files, ` +
        `${thousands(run.keys)} keys, ${run.mapTasks} map + ${run.reduceTasks} reduce tasks, ${run.spills} spills, ` +
        `${seconds(performance.now() - started)} s`,
    );
  });
}

/** Runs `mrm baseline records`. */
export async function recordsBaselineCommand(jobPath: string, options: RecordsBaselineCommandOptions): Promise<void> {
  const started = performance.now();
  const { runRecordsBaseline } = await import('@mrm/benchmarks');
  const natsUrl = options.nats ?? process.env.MRM_NATS_URL;
  await withJob(jobPath, options, async (loaded, inputs, log) => {
    const run = await runRecordsBaseline({
      job: loaded.job,
      bundlePath: loaded.bundlePath,
      inputs,
      ...(options.state !== undefined ? { stateDir: options.state } : {}),
      ...(natsUrl !== undefined && natsUrl !== '' ? { natsUrl } : {}),
      ...(options.bolts !== undefined ? { bolts: options.bolts } : {}),
      ...(options.maxPending !== undefined ? { maxPending: options.maxPending } : {}),
      log,
    });
    await finish(run, options.out);
    const ms = performance.now() - started;
    say(
      `${loaded.job.name}: record-at-a-time baseline: ${thousands(run.records)} records from ${run.inputFiles} files, ` +
        `${thousands(run.pairs)} pairs acked one by one, ${thousands(run.keys)} keys, ${run.bolts} bolts, ` +
        `${seconds(ms)} s, ${thousands(run.pairs / Math.max(0.001, ms / 1000))} pairs/s`,
    );
  });
}
