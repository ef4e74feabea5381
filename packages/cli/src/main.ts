/**
 * The `mrm` command line: the composition root, where concrete adapters meet the roles.
 * Errors are one line on stderr and a non-zero exit; results go to files or stdout.
 */
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { queryCommand, versionsCommand } from './commands/query.js';
import { runCommand } from './commands/run.js';
import { oneOf, positiveInt } from './options.js';
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
    .option('-b, --batch-size <records>', 'records (lines) per micro-batch', positiveInt)
    .option('--checkpoint-every <batches>', 'commit a version every this many batches', positiveInt)
    .option('--on-error <mode>', "when map throws: 'fail' the run or 'skip' the record", oneOf('fail', 'skip'))
    .option('--threads <n>', 'map threads (default: cores)', positiveInt)
    .option('-q, --quiet', 'no progress output (the summary line stays)')
    .action((job: string, opts) => runCommand(job, opts));

  program
    .command('query')
    .description("print a job's result (or one key) as JSON Lines, as of a version")
    .requiredOption('-s, --state <dir>', 'state directory')
    .requiredOption('-j, --job <name>', 'job name')
    .option('-k, --key <key>', 'only this key (JSON, e.g. \'["a",1]\', or a plain string)')
    .option('--version <v>', 'a version id from `mrm versions` (default: latest)', positiveInt)
    .option('-o, --out <file>', "output file ('-' for stdout, the default)")
    .action((opts) => queryCommand(opts));

  program
    .command('versions')
    .description("list a job's versions, oldest first; each line starts with the version id")
    .requiredOption('-s, --state <dir>', 'state directory')
    .requiredOption('-j, --job <name>', 'job name')
    .action((opts) => versionsCommand(opts));

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
