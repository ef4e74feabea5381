/**
 * The `mrm` command line: the composition root, where concrete adapters meet the roles. Each
 * command's module is imported when the command runs, so `mrm --help` does not load LMDB or NATS.
 * Errors are one line on stderr and a non-zero exit; results go to files or stdout.
 */
import { createRequire } from 'node:module';
import {
  DEFAULT_BATCH_LINES,
  DEFAULT_CHECKPOINT_EVERY_BATCHES,
  DEFAULT_HEARTBEAT_TIMEOUT_MS,
  DEFAULT_STALL_TIMEOUT_MS,
  DEFAULT_WORKER_WAIT_MS,
} from '@mrm/coordinator/defaults';
import { Command } from 'commander';
import { oneOf, positiveInt, saltMode } from './options.js';
import { reportError } from './report.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** Builds the program (exported for tests). */
export function buildProgram(): Command {
  const program = new Command('mrm')
    .description('MapReduceMerge: incremental micro-batch MapReduce in TypeScript')
    .version(version, '-V, --version')
    // Program options only before the command, so `query --version <v>` is the command's own.
    .enablePositionalOptions()
    .option('--verbose', 'show stack traces and debug output')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ outputError: (str, write) => write(`mrm: ${str.replace(/^error: /, 'error: ')}`) });

  program
    .command('run')
    .description('run a job in this process (no server); runs on the same --state merge incrementally')
    .argument('<job>', 'job file (.ts or .js) whose default export is a job spec')
    .requiredOption('-i, --input <path...>', 'input files, folders or globs (.gz too)')
    .option('-s, --state <dir>', 'state directory', '.mrm')
    .option('-o, --out <file>', "write the job's whole current result as JSON Lines ('-' for stdout)")
    .option(
      '-b, --batch-size <records>',
      `records (lines) per micro-batch (default ${DEFAULT_BATCH_LINES})`,
      positiveInt,
    )
    .option(
      '--checkpoint-every <batches>',
      `commit a version every this many batches (default ${DEFAULT_CHECKPOINT_EVERY_BATCHES})`,
      positiveInt,
    )
    .option('--on-error <mode>', "when map throws: 'fail' the run or 'skip' the record", oneOf('fail', 'skip'))
    .option('--salt <mode>', "spread hot keys over merge workers: 'auto' (default), 'off' or a factor", saltMode)
    .option('--threads <n>', 'map threads (default: cores)', positiveInt)
    .option('-q, --quiet', 'no progress output (the summary line stays)')
    .option('-f, --follow', 'keep running: merge lines appended to the input files (also across rotation by rename)')
    .option('--batch-interval <ms>', 'with --follow: milliseconds between rounds (default 1000)', positiveInt)
    .action(async (job: string, opts) => (await import('./commands/run.js')).runCommand(job, opts));

  program
    .command('query')
    .description("print a job's result (or one key) as JSON Lines, as of a version (local --state, or a cluster)")
    .option('-s, --state <dir>', 'state directory of `mrm run` (else: the cluster at --nats)')
    .option('--nats <url>', 'NATS URL of a cluster (default: $MRM_NATS_URL)')
    .requiredOption('-j, --job <name>', 'job name')
    .option('-k, --key <key>', 'only this key (JSON, e.g. \'["a",1]\', or a plain string)')
    .option('--version <v>', 'a version id from `mrm versions` (default: latest)', positiveInt)
    .option('-o, --out <file>', "output file ('-' for stdout, the default)")
    .action(async (opts) => (await import('./commands/query.js')).queryCommand(opts));

  program
    .command('versions')
    .description(
      "list a job's versions, oldest first; each line starts with the version id (local --state, or a cluster)",
    )
    .option('-s, --state <dir>', 'state directory of `mrm run` (else: the cluster at --nats)')
    .option('--nats <url>', 'NATS URL of a cluster (default: $MRM_NATS_URL)')
    .requiredOption('-j, --job <name>', 'job name')
    .action(async (opts) => (await import('./commands/query.js')).versionsCommand(opts));

  program
    .command('up')
    .description(
      'start a local cluster (nats-server, coordinator, workers) in the background; prints MRM_NATS_URL=<url>',
    )
    .option('--maps <n>', 'map workers', positiveInt, 1)
    .option('--merges <n>', 'merge workers', positiveInt, 1)
    .option('-d, --dir <dir>', 'directory of its state, logs and process ids', '.mrm-cluster')
    .option('--threads <n>', 'map threads per map worker (default: cores)', positiveInt)
    .option('--timeout <ms>', 'give up when the cluster is not ready after this long', positiveInt, 30_000)
    .action(async (opts) => (await import('./commands/up.js')).upCommand(opts));

  program
    .command('down')
    .description('stop the local cluster started by `mrm up`')
    .option('-d, --dir <dir>', 'directory given to `mrm up`', '.mrm-cluster')
    .action(async (opts) => (await import('./commands/down.js')).downCommand(opts));

  program
    .command('coordinator')
    .description('run the cluster coordinator in the foreground')
    .option('--nats <url>', 'NATS URL (default: $MRM_NATS_URL)')
    .requiredOption('-s, --state <dir>', 'state directory (versions, plans, job history)')
    .option(
      '--heartbeat-timeout <ms>',
      `a worker silent this long is lost (default ${DEFAULT_HEARTBEAT_TIMEOUT_MS})`,
      positiveInt,
    )
    .option('--worker-wait <ms>', `how long a job waits for workers (default ${DEFAULT_WORKER_WAIT_MS})`, positiveInt)
    .option(
      '--stall-timeout <ms>',
      `a job without progress this long dispatches its unfinished tasks again (default ${DEFAULT_STALL_TIMEOUT_MS})`,
      positiveInt,
    )
    .action(async (opts) =>
      (await import('./commands/coordinator.js')).coordinatorCommand({
        ...opts,
        verbose: program.opts().verbose === true,
      }),
    );

  program
    .command('worker')
    .description('run one map or merge worker in the foreground')
    .requiredOption('-r, --role <role>', "'map' or 'merge'", oneOf('map', 'merge'))
    .option('--nats <url>', 'NATS URL (default: $MRM_NATS_URL)')
    .option('-s, --state <dir>', 'state directory (required for merge workers)')
    .option('--id <id>', 'worker id (default: <role>-<host>-<pid>); a merge worker keeps its id across restarts')
    .option('--threads <n>', 'map threads (default: cores)', positiveInt)
    .action(async (opts) =>
      (await import('./commands/worker.js')).workerCommand({ ...opts, verbose: program.opts().verbose === true }),
    );

  program
    .command('submit')
    .description('submit a job to the cluster; prints the job id on the first line')
    .argument('<job>', 'job file (.ts or .js)')
    .requiredOption('-i, --input <path...>', 'input files, folders or globs (.gz too)')
    .option('--nats <url>', 'NATS URL (default: $MRM_NATS_URL)')
    .option('-w, --wait', 'return when the job has finished (exit 0) or failed (non-zero)')
    .option('-o, --out <file>', "with --wait: write the job's result as JSON Lines ('-' for stdout)")
    .option(
      '-b, --batch-size <records>',
      `records (lines) per micro-batch (default ${DEFAULT_BATCH_LINES})`,
      positiveInt,
    )
    .option(
      '--checkpoint-every <batches>',
      `commit a version every this many batches (default ${DEFAULT_CHECKPOINT_EVERY_BATCHES})`,
      positiveInt,
    )
    .option('--on-error <mode>', "when map throws: 'fail' the job or 'skip' the record", oneOf('fail', 'skip'))
    .option('--salt <mode>', "spread hot keys over merge workers: 'auto' (default), 'off' or a factor", saltMode)
    .option('--priority <n>', 'higher runs first', Number.parseInt)
    .option('--shared-fs', 'workers read the input in place (default: upload it into the cluster)')
    .option('--timeout <ms>', 'with --wait: give up after this long', positiveInt)
    .action(async (job: string, opts) => (await import('./commands/submit.js')).submitCommand(job, opts));

  program
    .command('status')
    .description('jobs, batches, workers and lag of the cluster')
    .argument('[job-id]', 'one job')
    .option('--nats <url>', 'NATS URL (default: $MRM_NATS_URL)')
    .option('--json', 'machine-readable output')
    .action(async (jobId: string | undefined, opts) =>
      (await import('./commands/status.js')).statusCommand(jobId, opts),
    );

  return program;
}

/** Runs the CLI with `argv`; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return 0;
  } catch (e) {
    return reportError(e, program.opts().verbose === true || argv.includes('--verbose'));
  }
}
