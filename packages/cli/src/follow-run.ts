/**
 * `mrm run --follow`: one embedded engine and one open run (docs/decisions/0033) that takes, every
 * `--batch-interval`, what was appended to the input files, a version after each. Ctrl-C (or
 * SIGTERM) stops after the version in progress is committed; a second Ctrl-C stops at once, like
 * a crash, and a restart resumes after the last committed version either way.
 */
import { JobRecord, type RunJobOptions } from '@mrm/coordinator';
import type { VersionInfo } from '@mrm/core';
import type { RunCommandOptions } from './commands/run.js';
import { openEmbeddedEngine } from './embedded-engine.js';
import { FileFollower } from './file-follower.js';
import { type FollowedVersion, FollowFeed } from './follow-feed.js';
import { jobOptionsFromFlags } from './job-flags.js';
import type { LoadedJob } from './job-loader.js';
import { lateNote, say, seconds, thousands, watermarkText } from './report.js';
import { writeJobResult } from './result-output.js';

/** Default milliseconds between two looks at the followed files. */
export const DEFAULT_BATCH_INTERVAL_MS = 1000;

/** The line `--follow` prints per version. */
function versionLine(name: string, v: FollowedVersion, before: VersionInfo | undefined): string {
  const { info } = v;
  const records = info.records - (before?.records ?? 0);
  const parts = v.idle
    ? [`${name}: no new lines, watermark ${watermarkText(info.watermarkMs)}`]
    : [`${name}: ${thousands(records)} records`, `${thousands(info.keys)} keys`, `${seconds(v.ms)} s`];
  const late = lateNote((info.lateRecords ?? 0) - (before?.lateRecords ?? 0));
  if (late !== '') parts.push(late);
  return `${parts.join(', ')} → version ${info.version}`;
}

/** Forgets the plans and batch records of every retired generation of a followed file. */
async function forgetRetired(record: JobRecord, follower: FileFollower): Promise<void> {
  for (const plan of await record.plans()) {
    if (follower.isRetired(plan.identity)) await record.forgetSource(plan.identity);
  }
}

/** Runs `mrm run --follow` until SIGINT or SIGTERM. */
export async function followCommand(loaded: LoadedJob, options: RunCommandOptions): Promise<void> {
  const intervalMs = options.batchInterval ?? DEFAULT_BATCH_INTERVAL_MS;
  const follower = await FileFollower.open(options.input, options.state);
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
    if (options.quiet !== true) say('stopping after the version in progress (Ctrl-C again to stop at once)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const engine = await openEmbeddedEngine({
      job: loaded.job,
      ref: loaded.ref,
      stateDir: options.state,
      options: jobOptionsFromFlags(options),
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
    });
    try {
      let before: VersionInfo | undefined = await engine.store.latestVersion(loaded.job.name);
      // What is recorded of rotated generations goes: now (left by an earlier follower), and
      // after each rotation (decisions/0049).
      const retire = () => forgetRetired(new JobRecord(engine.store, loaded.job.name), follower);
      await retire();
      const feed = new FollowFeed({
        follower,
        intervalMs,
        onRetired: retire,
        ...(options.idleTimeout !== undefined ? { idleTimeoutMs: options.idleTimeout } : {}),
        onVersion: async (v) => {
          if (options.out !== undefined) await writeJobResult(engine.store, loaded.job, { out: options.out });
          say(versionLine(loaded.job.name, v, before));
          before = v.info;
        },
      });
      if (options.quiet !== true) say(`following ${options.input.join(', ')} every ${intervalMs} ms (Ctrl-C stops)`);
      // One open run after another: a run ends only when stopped, or after its share of
      // extensions (the next starts at once; `--reset` applies to the first only).
      for (let next: RunJobOptions = {}; !stop.signal.aborted; next = { reset: false }) {
        await engine.run({ inputs: [], options: next, open: (run) => feed.feed(run, stop.signal) });
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
