/**
 * The cluster suite: word count on the wordcount suite's input (the Gutenberg books replicated to
 * ~64 MB, 8 files) on local clusters of 1 map + 1 merge worker and of 2 + 2, against the embedded
 * engine (`mrm run`) and the plain loop, run by the wordcount suite's own {@link SizeRun}.
 *
 * A cluster is started with `mrm up` before timing and stopped with `mrm down` after; what is
 * timed is the `mrm submit --wait --shared-fs` process, submit to finished (workers read the
 * input in place, so no upload is timed; one more run on 1 + 1 uploads the input, for honesty).
 * Each cluster run gets a fresh cluster: word count is incremental, and a cluster that has merged
 * the input once would skip it the second time. Every cluster result (`mrm query --nats`) must
 * equal the loop's counts, or the suite fails.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jobStatus, queryToFile, submittedJobId } from '../lib/cluster-cli.js';
import { cpuBetween, LocalCluster } from '../lib/cluster-local.js';
import { buildDataset, copiesFor, type Dataset, findCorpus } from '../lib/dataset.js';
import { engineFingerprint } from '../lib/engine-version.js';
import { measureChild } from '../lib/measure-child.js';
import { countDifferences, readResultCounts, totalOf } from '../lib/word-counts.js';
import { BenchFailure, type Suite, type SuiteContext } from '../suite.js';
import { type ClusterContender, type ClusterSample, type ClusterSizeResult, clusterReport } from './cluster-report.js';
import { SizeRun, tail, warmPageCache } from './wordcount.js';

/** Input size (MB) of a full run: the 64 MB. */
const DEFAULT_SIZES_MB = [64];
/** Files the input is cut into, as in the wordcount suite (so the dataset is the same cached one). */
const FILE_COUNT = 8;
/** Runs per contender and size. */
const DEFAULT_RUNS = 5;
const LOOP_SCRIPT = fileURLToPath(new URL('../contenders/plain-loop.js', import.meta.url));

/** The clusters measured: map and merge workers, and whether the input is uploaded. */
const CLUSTERS: Record<Exclude<ClusterContender, 'loop' | 'mrm'>, { maps: number; merges: number; upload: boolean }> = {
  'cluster-1x1': { maps: 1, merges: 1, upload: false },
  'cluster-2x2': { maps: 2, merges: 2, upload: false },
  'cluster-1x1-upload': { maps: 1, merges: 1, upload: true },
};

const mib = (bytes: number | null) => (bytes !== null ? bytes / 2 ** 20 : null);

/** Runs word count on fresh local clusters and checks each answer against the loop's. */
class ClusterRun {
  readonly samples: Record<ClusterContender, ClusterSample[]>;

  constructor(
    private readonly context: SuiteContext,
    private readonly base: SizeRun,
    private readonly dataset: Dataset,
    private readonly work: string,
    private readonly sizeMb: number,
    private readonly mrmBin: string,
    private readonly jobPath: string,
  ) {
    this.samples = { loop: [], mrm: [], 'cluster-1x1': [], 'cluster-2x2': [], 'cluster-1x1-upload': [] };
  }

  async run(contender: ClusterContender, round: number): Promise<void> {
    if (contender === 'loop' || contender === 'mrm') {
      await this.base[contender](round);
      const s = this.base.samples[contender].at(-1);
      if (s !== undefined) this.samples[contender].push({ ...s, contender });
      return;
    }
    this.samples[contender].push(await this.cluster(contender, round));
  }

  private async cluster(contender: keyof typeof CLUSTERS, round: number): Promise<ClusterSample> {
    const { maps, merges, upload } = CLUSTERS[contender];
    const expected = this.base.expected;
    if (expected === undefined) throw new Error('the plain loop runs first in round 1: its answer is the expectation');
    const dir = join(this.work, `${contender}-${round}`);
    const cluster = await LocalCluster.start(this.mrmBin, { maps, merges, dir });
    try {
      const engine = engineFingerprint(this.context.repoRoot);
      const before = cluster.readings();
      const args = [this.mrmBin, 'submit', this.jobPath, '--input', ...this.dataset.files, '--wait'];
      if (!upload) args.push('--shared-fs');
      args.push('--nats', cluster.url, '--timeout', String(30 * 60_000));
      const m = await measureChild(process.execPath, args, { cwd: this.context.repoRoot });
      const after = cluster.readings();
      if (m.code !== 0) {
        throw new BenchFailure(
          `mrm submit on ${maps}+${merges} failed at ${this.sizeMb} MB (exit ${m.code ?? m.signal}): ${tail(m.stderr)} | coordinator: ${cluster.logTail('coordinator')}`,
        );
      }
      const jobId = submittedJobId(m.stdout);
      const status = await jobStatus(this.mrmBin, cluster.url, jobId);
      const result = join(this.work, `${contender}-${round}.jsonl`);
      await queryToFile(this.mrmBin, cluster.url, 'wordcount', result);
      const differences = countDifferences(expected, readResultCounts(result));
      rmSync(result, { force: true });
      if (differences.length > 0) {
        throw new BenchFailure(
          `the ${maps}+${merges} cluster's word counts differ from the plain loop's at ${this.sizeMb} MB: ${differences.join('; ')}`,
        );
      }
      const cpuByProcess = cpuBetween(before, after);
      const peakRssMiBByProcess = Object.fromEntries(
        Object.entries(after).map(([name, r]) => [name, Math.round(mib(r.peakRssBytes) ?? 0)]),
      );
      const clusterCpu = Object.values(cpuByProcess).reduce((a, b) => a + b, 0);
      return {
        contender,
        round,
        seconds: m.wallMs / 1000,
        wallSeconds: m.wallMs / 1000,
        cpuSeconds: m.cpuSeconds !== null ? m.cpuSeconds + clusterCpu : null,
        submitCpuSeconds: m.cpuSeconds,
        peakRssMiB: Object.values(peakRssMiBByProcess).reduce((a, b) => a + b, 0),
        peakRssAnonMiB: null,
        peakRssFileMiB: null,
        cpuByProcess,
        peakRssMiBByProcess,
        jobSeconds:
          status.startedAtMs !== undefined && status.finishedAtMs !== undefined
            ? (status.finishedAtMs - status.startedAtMs) / 1000
            : null,
        startupSeconds: cluster.startupSeconds,
        upload,
        jobId,
        summary: tail(m.stderr, 1),
        engine,
      };
    } finally {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Who goes when in round `round`: the order rotates, so slow phases of a noisy machine hit all. */
function orderOf(round: number): ClusterContender[] {
  const base: ClusterContender[] = ['loop', 'mrm', 'cluster-1x1', 'cluster-2x2'];
  // Round 1 starts with the loop: its answer is what the others are checked against.
  return base.map((_, i) => base[(i + round) % base.length] as ClusterContender);
}

async function runSize(
  context: SuiteContext,
  plan: { sizeMb: number; runs: number; mrmBin: string; jobPath: string; work: string },
): Promise<ClusterSizeResult> {
  const { options, log } = context;
  const corpus = findCorpus(context.repoRoot, options.dataDir);
  const copies = copiesFor(plan.sizeMb, corpus.bytes);
  const dataset = buildDataset(corpus, copies, FILE_COUNT, options.cacheDir);
  log(
    `${plan.sizeMb} MB: ${copies} × ${corpus.files.length} books = ${(dataset.bytes / 1e6).toFixed(1)} MB in ${dataset.files.length} files ` +
      `(${dataset.reused ? 'cached' : 'built'} in ${dataset.dir}); ${plan.runs} run(s) per contender, 1 with upload`,
  );
  warmPageCache(dataset.files);
  const base = new SizeRun(context, dataset, plan.work, plan.sizeMb, plan.mrmBin, plan.jobPath);
  const run = new ClusterRun(context, base, dataset, plan.work, plan.sizeMb, plan.mrmBin, plan.jobPath);
  const step = async (contender: ClusterContender, round: number) => {
    await run.run(contender, round);
    const s = run.samples[contender].at(-1);
    log(`${plan.sizeMb} MB round ${round + 1}/${plan.runs}: ${contender} ${s?.seconds.toFixed(2)} s`);
  };
  for (let round = 0; round < plan.runs; round++) {
    for (const contender of orderOf(round)) await step(contender, round);
  }
  await step('cluster-1x1-upload', plan.runs - 1);
  const expected = base.expected ?? new Map<string, number>();
  return {
    sizeMb: plan.sizeMb,
    copies,
    files: dataset.files.length,
    bytes: dataset.bytes,
    runs: plan.runs,
    words: totalOf(expected),
    distinct: expected.size,
    samples: run.samples,
  };
}

async function run(context: SuiteContext) {
  const { options, repoRoot } = context;
  const mrmBin = join(repoRoot, 'packages', 'cli', 'bin', 'mrm.js');
  const jobPath = join(repoRoot, 'examples', 'wordcount', 'job.ts');
  for (const [what, path] of [
    ['the mrm executable', mrmBin],
    ['the wordcount job', jobPath],
    ['the plain loop (build benchmarks first)', LOOP_SCRIPT],
  ] as const) {
    if (!existsSync(path)) throw new BenchFailure(`${what} is not at '${path}'`);
  }
  const planned = options.sizesMb ?? DEFAULT_SIZES_MB;
  const sizes = options.quick ? planned.slice(0, 1) : planned;
  const runs = options.quick ? 1 : (options.runs ?? DEFAULT_RUNS);
  const work = mkdtempSync(join(tmpdir(), 'mrm-bench-cluster-'));
  const results: ClusterSizeResult[] = [];
  try {
    for (const sizeMb of sizes) results.push(await runSize(context, { sizeMb, runs, mrmBin, jobPath, work }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return clusterReport({ quick: options.quick, fileCount: FILE_COUNT, sizes: results });
}

/** The cluster suite. */
export const clusterSuite: Suite = {
  name: 'cluster',
  description: 'word count on local 1+1 and 2+2 clusters against mrm run and the plain loop',
  run,
};
