/** `mrm run`: a job over inputs in this process, incrementally on the same --state. */
import type { RunResult, SourceOutcome } from '@mrm/coordinator';
import { ErrorCode, MrmError } from '@mrm/core';
import { expandInputs } from '@mrm/input';
import { warnAboutBinaryInputs } from '../binary-input-warning.js';
import { userCacheDir } from '../cache-dir.js';
import { runEmbedded } from '../embedded-engine.js';
import { withFollowedIdentities } from '../file-follower.js';
import { followCommand } from '../follow-run.js';
import { type JobFlags, jobOptionsFromFlags } from '../job-flags.js';
import { loadJob } from '../job-loader.js';
import { ProgressBar } from '../progress.js';
import { lateNote, say, seconds, thousands } from '../report.js';
import { writeJobResult } from '../result-output.js';
import { saltSummary } from '../skew-text.js';
import { ensureDirectory, statePaths } from '../state-dir.js';

/** Options of `mrm run`. */
export interface RunCommandOptions extends JobFlags {
  readonly input: string[];
  readonly state: string;
  readonly out?: string;
  readonly threads?: number;
  readonly quiet?: boolean;
  /** Keep running and merge what is appended to the input files. */
  readonly follow?: boolean;
  /** With `follow`: milliseconds between two looks at the files. */
  readonly batchInterval?: number;
  /** With `follow`: after this long without new lines the watermark moves on by as much. */
  readonly idleTimeout?: number;
}

function describeSource(s: SourceOutcome): string | undefined {
  if (s.batches === 0) return `${s.displayPath}: empty`;
  if (s.included === 0) return `skipped ${s.displayPath}: already merged`;
  if (s.included < s.batches)
    return `${s.displayPath}: ${s.batches - s.included} of ${s.batches} batches already merged, merging the rest`;
  return undefined;
}

/** The run summary line. */
export function summary(name: string, r: RunResult, ms: number): string {
  const last = r.versions.at(-1);
  const rate = r.records / Math.max(0.001, ms / 1000);
  const parts = [
    `${name}: ${thousands(r.records)} records`,
    `${thousands(r.latest?.keys ?? 0)} keys`,
    `${thousands(r.batches)} batches`,
    `${seconds(ms)} s`,
    `${thousands(rate)} records/s`,
  ];
  const skipped = r.sources.filter((s) => s.batches > 0 && s.included === 0).length;
  if (skipped > 0) parts.push(`${skipped} input${skipped === 1 ? '' : 's'} skipped`);
  if (r.skippedRecords > 0) parts.push(`${thousands(r.skippedRecords)} records skipped (malformed, or map threw)`);
  const late = lateNote(r.lateRecords);
  if (late !== '') parts.push(late);
  if (r.deadLetters > 0) {
    parts.push(
      `${thousands(r.deadLetters)} dead letter${r.deadLetters === 1 ? '' : 's'} (mrm dead-letters --job ${name})`,
    );
  }
  const tail =
    last !== undefined
      ? ` → version ${last.version}`
      : ` → nothing new to merge${r.latest !== undefined ? ` (still version ${r.latest.version})` : ''}`;
  const salt = saltSummary(r.skew);
  return parts.join(', ') + tail + (salt !== '' ? `; ${salt}` : '');
}

/** Runs `mrm run`. */
export async function runCommand(jobPath: string, options: RunCommandOptions): Promise<void> {
  const started = performance.now();
  if (options.follow !== true) {
    for (const [flag, given] of [
      ['--batch-interval', options.batchInterval],
      ['--idle-timeout', options.idleTimeout],
    ] as const) {
      if (given !== undefined) throw new MrmError(ErrorCode.BadOption, `${flag} goes with --follow`);
    }
  }
  const paths = statePaths(options.state);
  await ensureDirectory(paths.bundles);
  // Bundles by job file are cached per user (not per state folder): a run on a fresh --state of an
  // unchanged job skips esbuild. No usable cache folder: bundle every time.
  const buildCache = await userCacheDir('job-builds').catch(() => undefined);
  const loaded = await loadJob(jobPath, paths.bundles, buildCache !== undefined ? { buildCache } : {});
  if (options.follow === true) return followCommand(loaded, options);
  const inputs = await withFollowedIdentities(await expandInputs(options.input), options.state);
  await warnAboutBinaryInputs(inputs);
  const bar = new ProgressBar(options.quiet === true ? false : undefined);
  const log = (line: string) => {
    if (options.quiet !== true) say(line);
  };
  let result: RunResult;
  try {
    result = await runEmbedded({
      job: loaded.job,
      ref: loaded.ref,
      inputs,
      stateDir: options.state,
      options: jobOptionsFromFlags(options),
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      onSource: (s) => {
        const line = describeSource(s);
        if (line !== undefined) log(line);
      },
      onProgress: (p) => bar.update(p),
      afterRun: async (store) => {
        bar.stop();
        if (options.out !== undefined) await writeJobResult(store, loaded.job, { out: options.out });
      },
    });
  } finally {
    bar.stop();
  }
  say(summary(loaded.job.name, result, performance.now() - started));
}
