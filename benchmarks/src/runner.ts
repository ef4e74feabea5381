/**
 * The benchmark runner: parses `[suite...] [options]`, runs the suites one after another and
 * writes each one's results. Exit code 0 only if every suite ran and its answers were right.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { engineFingerprint, gitCommit } from './lib/engine-version.js';
import { machineInfo } from './lib/machine.js';
import { BenchFailure, type BenchOptions, type Suite } from './suite.js';
import { SUITES } from './suites/index.js';

/** The repository root (this file is benchmarks/{src,dist}/runner.*). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const USAGE = `usage: mrm bench [suite...] [options]   (or: npm run bench -- …, node benchmarks/dist/main.js …)

suites: ${SUITES.map((s) => `${s.name} (${s.description})`).join('; ')}
        (default: all; with --quick: all but ${SUITES.filter((s) => s.inDefaultQuick === false)
          .map((s) => s.name)
          .join(', ')}, which run when named)
options:
  --quick            one run at the first size only (a smoke test, not a measurement)
  --size-mb <n,...>  input sizes in MB instead of the suite's defaults
  --runs <n>         runs per contender and size instead of the suite's defaults
  --data <dir>       folder of the input corpus (default: $MRM_BENCH_DATA, else ../shared/data/gutenberg)
  --cache-dir <dir>  where generated inputs are kept (default: <tmp>/mrm-bench-data)
  --out-dir <dir>    where <suite>.json and <suite>.svg go (default: docs/benchmarks)
  --help             this text`;

/** A bad command line: one line saying what, then the usage. */
export class UsageError extends Error {}

/** The suites to run and the options, from `args` (argv without node and the script). */
export function parseBenchArgs(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): { suites: Suite[]; options: BenchOptions; help: boolean } {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const { values, positionals } = parsed;
  const quick = values.quick === true;
  const suites =
    positionals.length > 0 ? positionals.map(suiteNamed) : SUITES.filter((s) => !quick || s.inDefaultQuick !== false);
  const sizesMb = values['size-mb']?.split(',').map((s) => positiveNumber('--size-mb', s));
  const runs = values.runs !== undefined ? positiveNumber('--runs', values.runs) : undefined;
  if (runs !== undefined && !Number.isInteger(runs))
    throw new UsageError(`--runs: '${values.runs}' is not a whole number`);
  const dataDir = values.data ?? env.MRM_BENCH_DATA;
  const options: BenchOptions = {
    quick,
    ...(sizesMb !== undefined ? { sizesMb } : {}),
    ...(runs !== undefined ? { runs } : {}),
    ...(dataDir !== undefined && dataDir !== '' ? { dataDir: resolve(dataDir) } : {}),
    cacheDir: resolve(values['cache-dir'] ?? join(tmpdir(), 'mrm-bench-data')),
    outDir: resolve(values['out-dir'] ?? join(REPO_ROOT, 'docs', 'benchmarks')),
  };
  return { suites, options, help: values.help === true };
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    allowPositionals: true,
    strict: true,
    options: {
      quick: { type: 'boolean' },
      'size-mb': { type: 'string' },
      runs: { type: 'string' },
      data: { type: 'string' },
      'cache-dir': { type: 'string' },
      'out-dir': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
}

function suiteNamed(name: string): Suite {
  const suite = SUITES.find((s) => s.name === name);
  if (suite === undefined) throw new UsageError(`no suite '${name}' (suites: ${SUITES.map((s) => s.name).join(', ')})`);
  return suite;
}

function positiveNumber(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag}: '${text}' is not a positive number`);
  return n;
}

function engineReport(atStart: string) {
  const atEnd = engineFingerprint(REPO_ROOT);
  if (atEnd !== atStart) log('bench: warning: the packages were rebuilt during the run; the figures mix two engines');
  return { commit: gitCommit(REPO_ROOT), distFingerprint: atStart, changedDuringRun: atEnd !== atStart };
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Runs the benchmark command line `args`; resolves with the exit code. `invokedAs` is how the
 * command line is shown in the results (default: `node <this script>`).
 */
export async function runBench(args: readonly string[], invokedAs?: string): Promise<number> {
  let request: ReturnType<typeof parseBenchArgs>;
  try {
    request = parseBenchArgs(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    log(`bench: error: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (request.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { suites, options } = request;
  const prefix = invokedAs ?? `node ${relative(process.cwd(), process.argv[1] ?? 'benchmarks/dist/main.js')}`;
  const command = [prefix, ...args].join(' ');
  let failed = false;
  for (const suite of suites) {
    log(`bench: ${suite.name}: ${suite.description}`);
    try {
      const loadAtStart = loadavg();
      const engineAtStart = engineFingerprint(REPO_ROOT);
      const report = await suite.run({
        repoRoot: REPO_ROOT,
        options,
        command,
        log: (l) => log(`bench: ${suite.name}: ${l}`),
      });
      const results = {
        suite: suite.name,
        command,
        date: new Date().toISOString(),
        machine: machineInfo(),
        // The 1-minute load average before and after: above the core count, other work shared the machine.
        loadAverage1m: { start: loadAtStart[0], end: loadavg()[0] },
        // The build measured; if it changed during the run, the figures mix two engines.
        engine: engineReport(engineAtStart),
        ...report.results,
      };
      mkdirSync(options.outDir, { recursive: true });
      const json = join(options.outDir, `${suite.name}.json`);
      const svg = join(options.outDir, `${suite.name}.svg`);
      writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
      writeFileSync(svg, report.svg);
      process.stdout.write(`\n## ${suite.name}\n\n\`${command}\`\n\n${report.table}\n\n`);
      log(`bench: ${suite.name}: wrote ${relative(process.cwd(), json)} and ${relative(process.cwd(), svg)}`);
    } catch (e) {
      failed = true;
      const message = e instanceof Error ? e.message : String(e);
      log(`bench: ${suite.name}: ${e instanceof BenchFailure ? 'FAILED' : 'error'}: ${message}`);
      if (!(e instanceof BenchFailure) && e instanceof Error && e.stack !== undefined) log(e.stack);
    }
  }
  return failed ? 1 : 0;
}
