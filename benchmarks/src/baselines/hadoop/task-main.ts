/**
 * The entry of one Hadoop-style task process (Hadoop starts a JVM per task):
 * `node task-main.js '<TaskSpec as JSON>'`. Loads the job bundle, runs the task, prints its
 * counters as one JSON line; on failure one line on stderr and exit code 1.
 */
import { pathToFileURL } from 'node:url';
import { errorMessage, jobFromModule } from '@mrm/core';
import { runMapTask } from './map-task.js';
import { runReduceTask } from './reduce-task.js';
import type { TaskSpec } from './task-spec.js';

try {
  const spec = JSON.parse(process.argv[2] ?? '') as TaskSpec;
  const job = jobFromModule(await import(pathToFileURL(spec.bundlePath).href), spec.bundlePath);
  const counters = spec.kind === 'map' ? await runMapTask(job, spec) : await runReduceTask(job, spec);
  process.stdout.write(`${JSON.stringify(counters)}\n`);
} catch (error) {
  process.stderr.write(`${errorMessage(error).split('\n')[0]}\n`);
  process.exitCode = 1;
}
