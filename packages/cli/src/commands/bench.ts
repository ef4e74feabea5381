/**
 * `mrm bench [suite...] [options]`: the benchmark suites of @mrm/benchmarks (docs/benchmarks.md),
 * imported only when this command runs. Its arguments go to the benchmark runner unchanged.
 */

/** Runs the benchmark runner with `args`; sets the exit code it returns. */
export async function benchCommand(args: readonly string[]): Promise<void> {
  const { runBench } = await import('@mrm/benchmarks');
  process.exitCode = await runBench(args, 'mrm bench');
}
