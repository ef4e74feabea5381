/**
 * `mrm baseline hadoop`: a job run the way Hadoop MapReduce runs it. The driver cuts the input
 * into splits, runs one fresh process per map task (a slot per core), then one per reduce task,
 * each pulling its partition from every map output; then it commits the reducers' output parts
 * (attempt directories renamed into the output directory, `_SUCCESS` written) and removes the
 * intermediate files. An incremental job runs again over every input seen so far.
 *
 * ```ts
 * const run = await runHadoopBaseline({ job, bundlePath, inputs, stateDir: '.hadoop' });
 * await writeJsonLines(run.entries(), 'out.jsonl');
 * ```
 */
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResolvedJob } from '@mrm/core';
import type { SourceFile } from '@mrm/input';
import type { InputSplit } from '../read-split.js';
import { type BaselineEntry, resultEntries } from '../result-parts.js';
import { readSeenInputs, withNewInputs, writeSeenInputs } from '../seen-inputs.js';
import { runTaskProcess, runWithSlots } from '../task-process.js';
import { type HadoopOptions, type ResolvedHadoopOptions, resolveHadoopOptions } from './hadoop-options.js';
import { partName, type TaskCounters } from './task-spec.js';

const TASK_MAIN = fileURLToPath(new URL('./task-main.js', import.meta.url));

/** One run of the Hadoop-style baseline. */
export interface HadoopBaselineRequest {
  readonly job: ResolvedJob;
  /** The materialized job bundle every task process imports. */
  readonly bundlePath: string;
  readonly inputs: readonly SourceFile[];
  /** Keeps the inputs seen and the committed output; without it, both live in a temp dir. */
  readonly stateDir?: string;
  readonly options?: HadoopOptions;
  /** Progress lines for a person. */
  readonly log?: (line: string) => void;
}

/** What a run did; `entries()` reads its committed result in key order. */
export interface HadoopBaselineRun {
  readonly options: ResolvedHadoopOptions;
  /** Input files read (for an incremental job with a state dir: all seen so far). */
  readonly inputFiles: number;
  readonly mapTasks: number;
  readonly reduceTasks: number;
  readonly records: number;
  readonly mapOutputRecords: number;
  readonly spills: number;
  readonly keys: number;
  entries(): AsyncIterable<BaselineEntry>;
  /** Removes the output when it lives in a temp dir. */
  close(): void;
}

/** The splits of the inputs: `splitBytes` ranges of each file; a gzip file is one split. */
export function inputSplits(inputs: readonly SourceFile[], splitBytes: number): InputSplit[] {
  const splits: InputSplit[] = [];
  for (const f of inputs) {
    const split = { path: f.path, displayPath: f.displayPath, gzip: f.gzip };
    if (f.gzip || f.size <= splitBytes) splits.push({ ...split, start: 0, length: f.size });
    else
      for (let start = 0; start < f.size; start += splitBytes)
        splits.push({ ...split, start, length: Math.min(splitBytes, f.size - start) });
  }
  return splits;
}

function sum(counters: readonly TaskCounters[], field: keyof TaskCounters): number {
  return counters.reduce((n, c) => n + c[field], 0);
}

/** Runs the job Hadoop's way; the result is committed when this resolves. */
export async function runHadoopBaseline(request: HadoopBaselineRequest): Promise<HadoopBaselineRun> {
  const options = resolveHadoopOptions(request.options);
  const log = request.log ?? (() => {});
  const { job } = request;
  const base = request.stateDir ?? mkdtempSync(join(tmpdir(), 'mrm-hadoop-out-'));
  mkdirSync(base, { recursive: true });
  const inputs =
    job.incremental && request.stateDir !== undefined
      ? withNewInputs(readSeenInputs(base), request.inputs)
      : [...request.inputs];
  // Local disks of the task processes (spills, map outputs, fetched segments): gone after the job.
  const local = mkdtempSync(join(tmpdir(), 'mrm-hadoop-local-'));
  const temporary = join(base, '_temporary');
  try {
    const splits = inputSplits(inputs, options.splitBytes);
    log(
      `${splits.length} map tasks over ${inputs.length} input files, ${options.reducers} reduce tasks, ${options.slots} slots`,
    );
    const mapDirs = splits.map((_, i) => join(local, `map_${i}`));
    const maps = await runWithSlots(
      splits.map((split, task) => () => {
        mkdirSync(mapDirs[task] as string);
        const spec = { kind: 'map', task, bundlePath: request.bundlePath, split, dir: mapDirs[task], options };
        return runTaskProcess<TaskCounters>(
          TASK_MAIN,
          spec,
          `map task ${task} (${split.displayPath} from byte ${split.start})`,
        );
      }),
      options.slots,
    );
    log(
      `map phase done: ${sum(maps, 'records')} records, ${sum(maps, 'outputRecords')} pairs, ${sum(maps, 'spills')} spills`,
    );
    rmSync(temporary, { recursive: true, force: true });
    const reduces = await runWithSlots(
      Array.from({ length: options.reducers }, (_, task) => () => {
        const dir = join(local, `reduce_${task}`);
        mkdirSync(dir);
        const attemptDir = join(temporary, `attempt_r_${task}`);
        const spec = {
          kind: 'reduce',
          task,
          bundlePath: request.bundlePath,
          mapOutputs: mapDirs,
          dir,
          attemptDir,
          options,
        };
        return runTaskProcess<TaskCounters>(TASK_MAIN, spec, `reduce task ${task}`);
      }),
      options.slots,
    );
    commit(base, temporary, options.reducers);
    if (job.incremental && request.stateDir !== undefined) writeSeenInputs(base, inputs);
    const output = join(base, 'output');
    const parts = Array.from({ length: options.reducers }, (_, n) => join(output, partName(n)));
    return {
      options,
      inputFiles: inputs.length,
      mapTasks: splits.length,
      reduceTasks: options.reducers,
      records: sum(maps, 'records'),
      mapOutputRecords: sum(maps, 'outputRecords'),
      spills: sum(maps, 'spills'),
      keys: sum(reduces, 'outputRecords'),
      entries: () => resultEntries(job, parts),
      close: () => {
        if (request.stateDir === undefined) rmSync(base, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    if (request.stateDir === undefined) rmSync(base, { recursive: true, force: true });
    throw error;
  } finally {
    rmSync(local, { recursive: true, force: true });
  }
}

/**
 * The job commit (FileOutputCommitter): every reducer's attempt output moved into a fresh output
 * directory, which then replaces the previous one, and `_SUCCESS` written.
 */
function commit(base: string, temporary: string, reducers: number): void {
  const next = join(base, 'output.committing');
  rmSync(next, { recursive: true, force: true });
  mkdirSync(next);
  for (let n = 0; n < reducers; n++)
    renameSync(join(temporary, `attempt_r_${n}`, partName(n)), join(next, partName(n)));
  writeFileSync(join(next, '_SUCCESS'), '');
  const output = join(base, 'output');
  rmSync(output, { recursive: true, force: true });
  renameSync(next, output);
  rmSync(temporary, { recursive: true, force: true });
  if (readdirSync(output).length !== reducers + 1)
    throw new Error(`${output}: commit left ${readdirSync(output).length} files`);
}
