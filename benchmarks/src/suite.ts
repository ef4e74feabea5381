/**
 * What a benchmark suite is to the runner: a name, and a function from options to results that
 * the runner writes as `<out>/<name>.json`, `<out>/<name>.svg` and a table on stdout. Later
 * suites (cluster, latency, the Hadoop-style baseline) are files under `suites/` with this shape.
 */

/** Options shared by every suite, from the command line. */
export interface BenchOptions {
  /** One run at the first size only (the smallest by default): a smoke test of the numbers, not a measurement. */
  readonly quick: boolean;
  /** Input sizes in MB (10^6 bytes) to run instead of the suite's defaults. */
  readonly sizesMb?: readonly number[];
  /** Runs per contender and size instead of the suite's defaults. */
  readonly runs?: number;
  /** Folder of the input corpus (else `MRM_BENCH_DATA`, else the suite's default location). */
  readonly dataDir?: string;
  /** Where generated inputs are cached between runs. */
  readonly cacheDir: string;
  /** Where the JSON and SVG results go. */
  readonly outDir: string;
}

/** What a suite is given. */
export interface SuiteContext {
  readonly repoRoot: string;
  readonly options: BenchOptions;
  /** The command line that started the run, as a person would type it. */
  readonly command: string;
  /** Progress for a person (stderr); results go in the returned report. */
  readonly log: (line: string) => void;
}

/** What a suite produced. */
export interface SuiteReport {
  /** Everything measured (raw samples, medians, ratios); the runner adds machine info and date. */
  readonly results: Record<string, unknown>;
  /** A readable table (Markdown) of the headline figures. */
  readonly table: string;
  /** An SVG chart of the headline figures. */
  readonly svg: string;
}

/** A benchmark suite. */
export interface Suite {
  readonly name: string;
  readonly description: string;
  /**
   * false: `--quick` with no suite named leaves this suite out (its quick mode alone would take
   * a large part of the 3 minutes `mrm bench --quick` may take); naming it runs it. Default true.
   */
  readonly inDefaultQuick?: boolean;
  run(context: SuiteContext): Promise<SuiteReport>;
}

/**
 * A suite that cannot give figures worth publishing: its data is missing, a contender failed or
 * gave a wrong answer. The runner prints the message (no stack) and exits non-zero.
 */
export class BenchFailure extends Error {}
