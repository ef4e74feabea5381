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
  DEFAULT_LEADER_LEASE_MS,
  DEFAULT_LIVENESS_PROBE_MS,
  DEFAULT_MAX_BUFFER_BYTES,
  DEFAULT_STALL_TIMEOUT_MS,
  DEFAULT_WORKER_WAIT_MS,
} from '@mrm/coordinator/defaults';
import { Command, Option } from 'commander';
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from './cluster/heartbeat-thread.js';
import { natsNodes, oneOf, port, positiveInt, positiveNumber, saltMode, versionsToKeep, wholeMs } from './options.js';
import { reportError } from './report.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** `--on-error` of `run` and `submit`. */
function onErrorOption(what: 'run' | 'job'): Option {
  return new Option(
    '--on-error <mode>',
    `when map, combine, reduce or merge throws: 'fail' the ${what} or 'skip' the record or key (a dead letter)`,
  ).argParser(oneOf('fail', 'skip'));
}

/** `--keep-versions` of `run` and `submit`. */
function keepVersionsOption(): Option {
  return new Option(
    '--keep-versions <n>',
    'keep the n newest versions, delete older ones (default 100; 0 or all: keep every version)',
  ).argParser(versionsToKeep);
}

const RESET_HELP = "start the job's state over: delete its versions first";
const ALLOW_CODE_CHANGE_HELP = 'merge into state that other code of the job built (see docs/job-api.md)';

/**
 * NATS login, TLS and replica flags of every command that talks to a cluster (each also read from
 * its MRM_NATS_* environment variable).
 */
function natsSecurityOptions(command: Command): Command {
  return command
    .option('--nats-creds <file>', 'NATS credentials file (JWT + NKey; $MRM_NATS_CREDS)')
    .option('--nats-user <user>', 'NATS user ($MRM_NATS_USER)')
    .option('--nats-pass <password>', 'NATS password ($MRM_NATS_PASS)')
    .option('--nats-token <token>', 'NATS token ($MRM_NATS_TOKEN)')
    .option('--nats-tls-ca <file>', 'CA certificate (PEM) to trust for NATS over TLS ($MRM_NATS_TLS_CA)')
    .option('--nats-tls-cert <file>', 'client certificate (PEM) for NATS mutual TLS ($MRM_NATS_TLS_CERT)')
    .option('--nats-tls-key <file>', 'key (PEM) of the client certificate ($MRM_NATS_TLS_KEY)')
    .option(
      '--nats-replicas <n>',
      'JetStream replicas of the buckets and streams it creates (default: 3 on a NATS cluster, else 1; $MRM_NATS_REPLICAS)',
      positiveInt,
    );
}

/** HTTP flags of processes that serve metrics (and, on the coordinator, the API and dashboard). */
function httpOptions(command: Command): Command {
  return command
    .option('--metrics-port <port>', 'serve Prometheus metrics at /metrics on this port (0: any free port)', port)
    .option('--http-host <host>', 'address the HTTP servers listen on (default 127.0.0.1: this machine only)')
    .option('--http-token <token>', 'bearer token every HTTP request must carry ($MRM_HTTP_TOKEN)');
}

/**
 * The options `run` and `submit` share: batching, checkpoints, errors, versions kept, code
 * changes and salting. `what` names what `--on-error fail` fails ('run' or 'job').
 */
function withRunOptions(command: Command, what: 'run' | 'job'): Command {
  return command
    .option(
      '-b, --batch-size <records>',
      `records (lines) per micro-batch (default ${DEFAULT_BATCH_LINES}; a batch also ends past 32 MiB)`,
      positiveInt,
    )
    .option(
      '--checkpoint-every <batches>',
      `commit a version every this many batches (default ${DEFAULT_CHECKPOINT_EVERY_BATCHES})`,
      positiveInt,
    )
    .addOption(onErrorOption(what))
    .addOption(keepVersionsOption())
    .option('--reset', RESET_HELP)
    .option('--allow-code-change', ALLOW_CODE_CHANGE_HELP)
    .option('--salt <mode>', "spread hot keys over merge workers: 'auto' (default), 'off' or a factor", saltMode)
    .option(
      '--merge-memory <MiB>',
      `MiB of incoming batches a merge worker holds before spilling to disk; its state in memory takes a quarter of this more (default ${DEFAULT_MAX_BUFFER_BYTES / (1024 * 1024)})`,
      positiveInt,
    );
}

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

  withRunOptions(
    program
      .command('run')
      .description('run a job in this process (no server); runs on the same --state merge incrementally')
      .argument('<job>', 'job file (.ts or .js) whose default export is a job spec')
      .requiredOption('-i, --input <path...>', 'input files, folders or globs (.gz too)')
      .option('-s, --state <dir>', 'state directory', '.mrm')
      .option('-o, --out <file>', "write the job's whole current result as JSON Lines ('-' for stdout)"),
    'run',
  )
    .option('--threads <n>', 'map threads (default: cores)', positiveInt)
    .option('-q, --quiet', 'no progress output (the summary line stays)')
    .option('-f, --follow', 'keep running: merge lines appended to the input files (also across rotation by rename)')
    .option('--batch-interval <ms>', 'with --follow: milliseconds between micro-batches (default 1000)', positiveInt)
    .option(
      '--idle-timeout <ms>',
      'with --follow: after this long without new lines the watermark moves on by as much, so windows close',
      positiveInt,
    )
    .action(async (job: string, opts) => (await import('./commands/run.js')).runCommand(job, opts));

  program
    .command('check')
    .description("type-check a job file against @mrm/core's types (run and submit do not type-check)")
    .argument('<job>', 'job file (.ts or .js)')
    .action(async (job: string) => (await import('./commands/check.js')).checkCommand(job));

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
    .option('--json', 'one JSON object per line: version, batches, committedAt, keys, bytes, hash, …')
    .action(async (opts) => (await import('./commands/query.js')).versionsCommand(opts));

  program
    .command('dead-letters')
    .description("list a job's dead letters (records and keys set aside with --on-error skip) as JSON Lines")
    .option('-s, --state <dir>', 'state directory of `mrm run` (else: the cluster at --nats)')
    .option('--nats <url>', 'NATS URL of a cluster (default: $MRM_NATS_URL)')
    .requiredOption('-j, --job <name>', 'job name')
    .action(async (opts) => (await import('./commands/dead-letters.js')).deadLettersCommand(opts));

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
    .option('--nats-user <user>', "the cluster's nats-server requires this user (with --nats-pass)")
    .option('--nats-pass <password>', 'password of --nats-user')
    .option('--nats-token <token>', "the cluster's nats-server requires this token")
    .option('--nats-nodes <n>', 'nats-servers: 1, or a JetStream cluster of 3 or 5 (replicas 3)', natsNodes, 1)
    .option('--http-token <token>', 'bearer token of the dashboard and every /metrics ($MRM_HTTP_TOKEN)')
    .option('--no-copies', 'the coordinator keeps no checkpoint copies (see `mrm coordinator --no-copies`)')
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
    .requiredOption(
      '-s, --state <dir>',
      'local cache (job bundles, inputs); versions, plans and job history live in JetStream',
    )
    .option(
      '--leader-lease <ms>',
      `a standby coordinator takes over after the leader is silent this long (default ${DEFAULT_LEADER_LEASE_MS})`,
      positiveInt,
    )
    .option(
      '--heartbeat-timeout <ms>',
      `a worker silent this long is lost (default ${DEFAULT_HEARTBEAT_TIMEOUT_MS})`,
      positiveInt,
    )
    .option(
      '--liveness-probe <ms>',
      `ask every worker this often whether its process is there; a killed one is lost at once (default ${DEFAULT_LIVENESS_PROBE_MS}; 0: heartbeats alone)`,
      wholeMs,
    )
    .option('--worker-wait <ms>', `how long a job waits for workers (default ${DEFAULT_WORKER_WAIT_MS})`, positiveInt)
    .option(
      '--stall-timeout <ms>',
      `a job without progress this long dispatches its unfinished tasks again (default ${DEFAULT_STALL_TIMEOUT_MS})`,
      positiveInt,
    )
    .option('--watchdog <ms>', 'warn (log, status, dashboard) about a job without progress this long', positiveInt)
    .option('--http <port>', 'serve the HTTP API and dashboard on this port (0: any free port)', port)
    .option(
      '--no-copies',
      'keep no checkpoint copies in JetStream: a lost merge worker then fails the run (to measure what copies cost)',
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
    .option(
      '--heartbeat-interval <ms>',
      `milliseconds between heartbeats (default ${DEFAULT_HEARTBEAT_INTERVAL_MS}; keep it well under the coordinator's --heartbeat-timeout)`,
      positiveInt,
    )
    .action(async (opts) =>
      (await import('./commands/worker.js')).workerCommand({ ...opts, verbose: program.opts().verbose === true }),
    );

  program
    .command('cancel')
    .description('cancel a job: a queued one leaves the queue, a running one stops at its last committed version')
    .argument('<job-id>', 'the id `mrm submit` printed')
    .option('--nats <url>', 'NATS URL (default: $MRM_NATS_URL)')
    .action(async (jobId: string, opts) => (await import('./commands/cancel.js')).cancelCommand(jobId, opts));

  withRunOptions(
    program
      .command('submit')
      .description('submit a job to the cluster; prints the job id on the first line')
      .argument('<job>', 'job file (.ts or .js)')
      .option('-i, --input <path...>', 'input files, folders or globs (.gz too)')
      .option('--stream <subject>', 'a streaming job: read the stream `mrm publish` writes, until cancelled')
      .option('--batch-interval <ms>', 'with --stream: milliseconds between micro-batches (default 500)', positiveInt)
      .option(
        '--idle-timeout <ms>',
        'with --stream: after this long without records the watermark moves on by as much, so windows close',
        positiveInt,
      )
      .option('--nats <url>', 'NATS URL (default: $MRM_NATS_URL)')
      .option('-w, --wait', 'return when the job has finished (exit 0) or failed (non-zero)')
      .option('-o, --out <file>', "with --wait: write the job's result as JSON Lines ('-' for stdout)"),
    'job',
  )
    .option('--priority <n>', 'higher runs first', Number.parseInt)
    .option('--shared-fs', 'workers read the input in place (default: upload it into the cluster)')
    .option('--timeout <ms>', 'with --wait: give up after this long', positiveInt)
    .action(async (job: string, opts) => (await import('./commands/submit.js')).submitCommand(job, opts));

  program
    .command('publish')
    .description('append lines (from files, else stdin) to the stream of <subject>, one record per line')
    .argument('<subject>', "NATS subject, e.g. 'logs.web' (its JetStream stream is created when missing)")
    .option('--nats <url>', 'NATS URL (default: $MRM_NATS_URL)')
    .option('-f, --file <path...>', 'files to publish, line by line (default: standard input)')
    .option('-q, --quiet', 'no summary line on stderr')
    .action(async (subject: string, opts) => (await import('./commands/publish.js')).publishCommand(subject, opts));

  program
    .command('status')
    .description('jobs, batches, workers and lag of the cluster')
    .argument('[job-id]', 'one job')
    .option('--nats <url>', 'NATS URL (default: $MRM_NATS_URL)')
    .option('--json', 'machine-readable output')
    .action(async (jobId: string | undefined, opts) =>
      (await import('./commands/status.js')).statusCommand(jobId, opts),
    );

  const baseline = program
    .command('baseline')
    .description('run a job the way Hadoop MapReduce or a record-at-a-time system would, for comparison');
  baseline
    .command('hadoop')
    .description('Hadoop MapReduce style: a process per task, sort-and-spill, pull shuffle, full recompute')
    .argument('<job>', 'job file (.ts or .js)')
    .requiredOption('-i, --input <path...>', 'input files, folders or globs (.gz too)')
    .option('-s, --state <dir>', 'keeps the inputs seen (an incremental job reruns over all) and the output')
    .option('-o, --out <file>', "write the result as JSON Lines ('-' for stdout), as `mrm run --out`")
    .option('--split-mb <n>', 'MiB of input per map task (default 32: HDFS block 128 ÷ 4)', positiveNumber)
    .option('--sort-mb <n>', 'map-side sort buffer in MiB (default 25: io.sort.mb 100 ÷ 4)', positiveNumber)
    .option('--reducers <n>', 'reduce tasks (default: cores)', positiveInt)
    .option('--parallel-copies <n>', 'map outputs a reducer fetches at once (default 5)', positiveInt)
    .option('--slots <n>', 'tasks running at once (default: cores)', positiveInt)
    .option('-q, --quiet', 'no progress output (the summary line stays)')
    .action(async (job: string, opts) => (await import('./commands/baseline.js')).hadoopBaselineCommand(job, opts));
  baseline
    .command('records')
    .description('record at a time (Storm style): every pair its own NATS message, acked one by one')
    .argument('<job>', 'job file (.ts or .js)')
    .requiredOption('-i, --input <path...>', 'input files, folders or globs (.gz too)')
    .option('--nats <url>', 'NATS URL (default: $MRM_NATS_URL, else a nats-server of its own)')
    .option('-s, --state <dir>', "keeps the bolts' state and the inputs applied (incremental jobs)")
    .option('-o, --out <file>', "write the result as JSON Lines ('-' for stdout), as `mrm run --out`")
    .option('--bolts <n>', 'bolt processes that own the keys (default: cores)', positiveInt)
    .option('--max-pending <n>', 'unacknowledged pairs at once (default 1000)', positiveInt)
    .option('-q, --quiet', 'no progress output (the summary line stays)')
    .action(async (job: string, opts) => (await import('./commands/baseline.js')).recordsBaselineCommand(job, opts));

  program
    .command('bench')
    .description('run the benchmark suites (docs/benchmarks.md); `mrm bench --help` lists them')
    .argument('[args...]', 'suites and options of the benchmark runner')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (args: string[]) => (await import('./commands/bench.js')).benchCommand(args));

  for (const command of program.commands) {
    if (command.name() === 'coordinator' || command.name() === 'worker') httpOptions(command);
    if (command.options.some((o) => o.long === '--nats')) natsSecurityOptions(command);
  }
  return program;
}

/** Runs the CLI with `argv`; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    // A command that finished with a code of its own (`mrm bench` passes the runner's on) keeps it.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    return reportError(e, program.opts().verbose === true || argv.includes('--verbose'));
  }
}
