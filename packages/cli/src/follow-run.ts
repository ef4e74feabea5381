/**
 * `mrm run --follow`: keeps one embedded engine open and, every `--batch-interval`, merges what
 * was appended to the input files (one run per round with something new). Ctrl-C (or SIGTERM)
 * stops after the round in progress; a second Ctrl-C stops at once, like a crash, and a restart
 * resumes after the last committed version either way.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunCommandOptions } from './commands/run.js';
import { summary } from './commands/run.js';
import { openEmbeddedEngine } from './embedded-engine.js';
import { FileFollower } from './file-follower.js';
import type { LoadedJob } from './job-loader.js';
import { say } from './report.js';
import { writeJobResult } from './result-output.js';

/** Default milliseconds between two rounds of `--follow`. */
export const DEFAULT_BATCH_INTERVAL_MS = 1000;

/** Runs `mrm run --follow` until SIGINT or SIGTERM. */
export async function followCommand(loaded: LoadedJob, options: RunCommandOptions): Promise<void> {
  const intervalMs = options.batchInterval ?? DEFAULT_BATCH_INTERVAL_MS;
  const follower = await FileFollower.open(options.input, options.state);
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
    if (options.quiet !== true) say('stopping after the round in progress (Ctrl-C again to stop at once)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const merged = new Map<string, number>();
  try {
    const engine = await openEmbeddedEngine({
      job: loaded.job,
      ref: loaded.ref,
      stateDir: options.state,
      options: {
        ...(options.batchSize !== undefined ? { batchLines: options.batchSize } : {}),
        ...(options.checkpointEvery !== undefined ? { checkpointEveryBatches: options.checkpointEvery } : {}),
        ...(options.onError !== undefined ? { onError: options.onError } : {}),
      },
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
    });
    try {
      if (options.quiet !== true) say(`following ${options.input.join(', ')} every ${intervalMs} ms (Ctrl-C stops)`);
      while (!stop.signal.aborted) {
        const sources = await follower.round();
        // Planning reads a file again from its start: only when it has new complete lines.
        if (sources.some((s) => merged.get(s.identity ?? s.path) !== s.endOffset)) {
          const started = performance.now();
          const result = await engine.run({ inputs: sources });
          await follower.roundDone();
          for (const s of sources) merged.set(s.identity ?? s.path, s.endOffset ?? s.size);
          if (result.versions.length > 0) {
            if (options.out !== undefined) await writeJobResult(engine.store, loaded.job, { out: options.out });
            say(summary(loaded.job.name, result, performance.now() - started));
          }
        }
        await sleep(intervalMs, undefined, { signal: stop.signal }).catch(() => {});
      }
    } finally {
      await engine.close();
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await follower.close();
  }
}
