/**
 * The wordcount suite: `mrm run` (the embedded engine, all cores) against the plainest
 * single-threaded JavaScript loop (read, regex, Map) over the 16 Gutenberg books replicated to
 * ~64 MB and ~512 MB. Every contender runs in its own process, rounds interleave the two, and
 * MRM's answer must equal the loop's in every run or the suite fails.
 */
import { execFile } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildDataset, type Corpus, copiesFor, type Dataset, findCorpus } from '../lib/dataset.js';
import { engineFingerprint } from '../lib/engine-version.js';
import { type ChildMeasurement, measureChild, rssMethod } from '../lib/measure-child.js';
import { countDifferences, parseLoopSummary, readLoopCounts, readResultCounts, totalOf } from '../lib/word-counts.js';
import { BenchFailure, type Suite, type SuiteContext } from '../suite.js';
import { type Contender, type Sample, type SizeResult, summarizeSize, wordcountReport } from './wordcount-report.js';

/** Input sizes (MB) of a full run: the 64 MB, and 512 MB to see whether memory grows. */
const DEFAULT_SIZES_MB = [64, 512];
/** Files the input is cut into: a few, as real input comes, so reading is realistic. */
const FILE_COUNT = 8;
/** Runs per contender and size: more where a run is short. Machines are small and noisy. */
const runsFor = (sizeMb: number) => (sizeMb >= 256 ? 3 : 5);

const execFileAsync = promisify(execFile);
const LOOP_SCRIPT = fileURLToPath(new URL('../contenders/plain-loop.js', import.meta.url));

/** The last lines of a child's stderr, for a failure message. */
export function tail(text: string, lines = 5): string {
  return text.trim().split('\n').slice(-lines).join(' | ');
}

/** Reads every input file once so that the first timed run does not pay for a cold page cache. */
export function warmPageCache(files: readonly string[]): void {
  const buffer = Buffer.allocUnsafe(1 << 20);
  for (const file of files) {
    const fd = openSync(file, 'r');
    try {
      while (readSync(fd, buffer, 0, buffer.length, null) > 0) {}
    } finally {
      closeSync(fd);
    }
  }
}

const mib = (bytes: number | null) => (bytes !== null ? bytes / 2 ** 20 : null);

function sampleOf(round: number, m: ChildMeasurement, seconds: number, extra: Partial<Sample> = {}): Sample {
  return {
    round,
    seconds,
    wallSeconds: m.wallMs / 1000,
    cpuSeconds: m.cpuSeconds,
    peakRssMiB: mib(m.peakRssBytes),
    peakRssAnonMiB: mib(m.peakRssAnonBytes),
    peakRssFileMiB: mib(m.peakRssFileBytes),
    ...extra,
  };
}

/**
 * Runs and checks the contenders at one size; `expected` is the loop's first answer. Exported for
 * the cluster suite, which runs the same two contenders beside the cluster.
 */
export class SizeRun {
  expected: Map<string, number> | undefined;
  readonly samples: Record<Contender, Sample[]> = { loop: [], mrm: [] };

  constructor(
    private readonly context: SuiteContext,
    private readonly dataset: Dataset,
    private readonly work: string,
    private readonly sizeMb: number,
    private readonly mrmBin: string,
    private readonly jobPath: string,
  ) {}

  async loop(round: number): Promise<void> {
    const out = join(this.work, `loop-${round}.json`);
    const m = await measureChild(process.execPath, [LOOP_SCRIPT, '--out', out, ...this.dataset.files]);
    if (m.code !== 0)
      throw new BenchFailure(
        `the plain loop failed at ${this.sizeMb} MB (exit ${m.code ?? m.signal}): ${tail(m.stderr)}`,
      );
    const summary = parseLoopSummary(m.stdout);
    if (this.expected === undefined) {
      this.expected = readLoopCounts(out);
      if (totalOf(this.expected) !== summary.words)
        throw new BenchFailure('the plain loop wrote counts that do not add up to its own total');
    } else if (summary.words !== totalOf(this.expected) || summary.distinct !== this.expected.size) {
      throw new BenchFailure(`the plain loop gave a different answer in round ${round + 1} at ${this.sizeMb} MB`);
    }
    rmSync(out, { force: true });
    // The loop's result write is timed apart and left out: mrm run is timed without --out too.
    this.samples.loop.push(
      sampleOf(round, m, (m.wallMs - summary.writeMs) / 1000, { writeSeconds: summary.writeMs / 1000 }),
    );
  }

  async mrm(round: number): Promise<void> {
    const expected = this.expected;
    if (expected === undefined) throw new Error('the plain loop runs first in round 1: its answer is the expectation');
    const engine = engineFingerprint(this.context.repoRoot);
    const state = join(this.work, `state-${round}`);
    const args = [this.mrmBin, 'run', this.jobPath, '--input', ...this.dataset.files, '--state', state, '--quiet'];
    const m = await measureChild(process.execPath, args, { cwd: this.context.repoRoot });
    if (m.code !== 0)
      throw new BenchFailure(`mrm run failed at ${this.sizeMb} MB (exit ${m.code ?? m.signal}): ${tail(m.stderr)}`);
    const result = join(this.work, `mrm-${round}.jsonl`);
    await execFileAsync(
      process.execPath,
      [this.mrmBin, 'query', '--state', state, '--job', 'wordcount', '--out', result],
      {
        cwd: this.context.repoRoot,
      },
    );
    const differences = countDifferences(expected, readResultCounts(result));
    if (differences.length > 0) {
      throw new BenchFailure(
        `mrm's word counts differ from the plain loop's at ${this.sizeMb} MB: ${differences.join('; ')}`,
      );
    }
    rmSync(state, { recursive: true, force: true });
    rmSync(result, { force: true });
    this.samples.mrm.push(sampleOf(round, m, m.wallMs / 1000, { summary: tail(m.stderr, 1), engine }));
  }
}

interface SizePlan {
  readonly sizeMb: number;
  readonly runs: number;
  readonly corpus: Corpus;
  readonly mrmBin: string;
  readonly jobPath: string;
  readonly work: string;
}

async function runSize(context: SuiteContext, plan: SizePlan): Promise<SizeResult> {
  const { options, log } = context;
  const { sizeMb, runs, corpus } = plan;
  const copies = copiesFor(sizeMb, corpus.bytes);
  const dataset = buildDataset(corpus, copies, FILE_COUNT, options.cacheDir);
  log(
    `${sizeMb} MB: ${copies} × ${corpus.files.length} books = ${(dataset.bytes / 1e6).toFixed(1)} MB in ${dataset.files.length} files ` +
      `(${dataset.reused ? 'cached' : 'built'} in ${dataset.dir}); ${runs} run(s) per contender`,
  );
  warmPageCache(dataset.files);
  const run = new SizeRun(context, dataset, plan.work, sizeMb, plan.mrmBin, plan.jobPath);
  for (let round = 0; round < runs; round++) {
    // Alternate who goes first, so that neither always runs on a machine the other just warmed
    // or heated. Round 1 starts with the loop: its answer is what mrm's is checked against.
    const order: Contender[] = round % 2 === 0 ? ['loop', 'mrm'] : ['mrm', 'loop'];
    for (const contender of order) {
      await run[contender](round);
      const s = run.samples[contender].at(-1);
      log(
        `${sizeMb} MB round ${round + 1}/${runs}: ${contender} ${s?.seconds.toFixed(2)} s, peak RSS ${s?.peakRssMiB?.toFixed(0) ?? '?'} MiB`,
      );
    }
  }
  const expected = run.expected ?? new Map<string, number>();
  return summarizeSize({
    sizeMb,
    dataset,
    runs,
    samples: run.samples,
    words: totalOf(expected),
    distinct: expected.size,
  });
}

async function run(context: SuiteContext) {
  const { options, repoRoot } = context;
  const corpus = findCorpus(repoRoot, options.dataDir);
  const mrmBin = join(repoRoot, 'packages', 'cli', 'bin', 'mrm.js');
  const jobPath = join(repoRoot, 'examples', 'wordcount', 'job.ts');
  for (const [what, path] of [
    ['the mrm executable', mrmBin],
    ['the wordcount job', jobPath],
    ['the plain loop (build benchmarks first)', LOOP_SCRIPT],
  ]) {
    if (!existsSync(path as string)) throw new BenchFailure(`${what} is not at '${path}'`);
  }
  const planned = options.sizesMb ?? DEFAULT_SIZES_MB;
  const sizes = options.quick ? planned.slice(0, 1) : planned;
  const work = mkdtempSync(join(tmpdir(), 'mrm-bench-wordcount-'));
  const results: SizeResult[] = [];
  try {
    for (const sizeMb of sizes) {
      const runs = options.quick ? 1 : (options.runs ?? runsFor(sizeMb));
      results.push(await runSize(context, { sizeMb, runs, corpus, mrmBin, jobPath, work }));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  // Every size holds whole copies of the corpus, so the words per copy must agree across sizes.
  const perCopy = new Set(results.map((r) => r.words / r.copies));
  if (perCopy.size > 1)
    throw new BenchFailure(`words per corpus copy differ between sizes: ${[...perCopy].join(', ')}`);
  return wordcountReport({
    quick: options.quick,
    corpus: { dir: corpus.dir, books: corpus.files.length, bytes: corpus.bytes },
    rssMethod: rssMethod(),
    fileCount: FILE_COUNT,
    sizes: results,
  });
}

/** The wordcount suite. */
export const wordcountSuite: Suite = {
  name: 'wordcount',
  description: 'mrm run word count against the plain single-threaded loop (read, regex, Map)',
  run,
};
