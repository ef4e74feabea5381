/**
 * `npm run bench` / `node benchmarks/dist/main.js [suite...] [--quick]`: runs the benchmark
 * suites and writes their figures to docs/benchmarks/. See docs/benchmarks.md.
 */
import { runBench } from './runner.js';

process.exitCode = await runBench(process.argv.slice(2));
