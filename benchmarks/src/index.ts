/**
 * @mrm/benchmarks — the baselines MRM is measured against and the benchmark runner. The `mrm`
 * CLI imports this entry lazily for `mrm baseline hadoop|records` and `mrm bench`.
 *
 * ```ts
 * import { runHadoopBaseline } from '@mrm/benchmarks';
 * const run = await runHadoopBaseline({ job, bundlePath, inputs });
 * for await (const { key, value } of run.entries()) console.log(key, value);
 * run.close();
 * ```
 * @packageDocumentation
 */

export type { HadoopBaselineRequest, HadoopBaselineRun } from './baselines/hadoop/hadoop-baseline.js';
export { runHadoopBaseline } from './baselines/hadoop/hadoop-baseline.js';
export type { HadoopOptions, ResolvedHadoopOptions } from './baselines/hadoop/hadoop-options.js';
export {
  DEFAULT_PARALLEL_COPIES,
  DEFAULT_SORT_BUFFER_BYTES,
  DEFAULT_SORT_FACTOR,
  DEFAULT_SPILL_PERCENT,
  DEFAULT_SPLIT_BYTES,
  resolveHadoopOptions,
} from './baselines/hadoop/hadoop-options.js';
export type { RecordsBaselineRequest, RecordsBaselineRun } from './baselines/records/records-baseline.js';
export { DEFAULT_MAX_PENDING, runRecordsBaseline } from './baselines/records/records-baseline.js';
export type { BaselineEntry } from './baselines/result-parts.js';
export { runBench } from './runner.js';
