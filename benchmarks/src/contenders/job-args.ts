/**
 * The command line of a contender script that runs one of several jobs:
 * `--job <name> --out <result.json> <file...>`. Exits with a usage line when it is incomplete.
 */

/** What the command line asked for. */
export interface JobArgs<T> {
  readonly name: string;
  readonly job: T;
  readonly out: string;
  readonly files: readonly string[];
}

/** Parses `argv` (without node and the script) for `script`, whose jobs are `jobs`. */
export function jobArgs<T>(
  script: string,
  jobs: Readonly<Record<string, T>>,
  argv = process.argv.slice(2),
): JobArgs<T> {
  const args = [...argv];
  const option = (flag: string) => {
    const at = args.indexOf(flag);
    return at >= 0 ? args.splice(at, 2)[1] : undefined;
  };
  const name = option('--job');
  const out = option('--out');
  const job = name !== undefined ? jobs[name] : undefined;
  if (name === undefined || job === undefined || out === undefined || args.length === 0) {
    process.stderr.write(`usage: ${script} --job <${Object.keys(jobs).join('|')}> --out <file> <file...>\n`);
    process.exit(2);
  }
  return { name, job, out, files: args };
}
