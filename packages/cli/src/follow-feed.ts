/**
 * What feeds the open run of `mrm run --follow` (docs/decisions/0033): every `--batch-interval`,
 * the followed files up to their last complete line join the run as its next batches (only what
 * was appended since is new: the run plans nothing twice), and the feed waits for the version
 * after them to commit before it looks again. With `idleTimeoutMs`, files that stopped growing
 * get an idle mark after that long: a version without batches that moves the watermark on by
 * the timeout from the committed one (as `mrm submit --stream --idle-timeout`, decisions/0027),
 * so windows past their lateness become final.
 *
 * ```ts
 * const feed = new FollowFeed({ follower, intervalMs: 1000, idleTimeoutMs: 60_000, onVersion });
 * await engine.run({ inputs: [], open: (run) => feed.feed(run, stop.signal) });
 * ```
 */
import type { OpenRun } from '@mrm/coordinator';
import { type Clock, systemClock, type VersionInfo } from '@mrm/core';
import type { SourceFile } from '@mrm/input';
import type { FileFollower } from './file-follower.js';

/** Extensions one open run takes before the next run starts (bounds a run's bookkeeping). */
export const DEFAULT_EXTENSIONS_PER_RUN = 3_600;

/** A version the feed committed, for the caller to report. */
export interface FollowedVersion {
  readonly info: VersionInfo;
  /** Milliseconds from the look at the files to the commit. */
  readonly ms: number;
  /** An idle mark: no new lines, the watermark moved on. */
  readonly idle: boolean;
}

/** Options of {@link FollowFeed}. */
export interface FollowFeedOptions {
  readonly follower: FileFollower;
  /** Milliseconds from one look at the files to the next. */
  readonly intervalMs: number;
  /** Files without new lines this long get an idle mark (absent: the watermark waits for lines). */
  readonly idleTimeoutMs?: number;
  /** Extensions (and idle marks) one run takes before it ends for the next to start. */
  readonly extensionsPerRun?: number;
  /**
   * Called once files rotated away were read to their end and committed (their generations are
   * retired: {@link FileFollower.isRetired}), before the next look.
   */
  readonly onRetired?: () => Promise<void>;
  /** Called after each committed version, before the next look. */
  readonly onVersion?: (version: FollowedVersion) => Promise<void>;
  readonly clock?: Clock;
}

function identityOf(s: SourceFile): string {
  return s.identity ?? s.path;
}

/** Feeds the open runs of `mrm run --follow`, one after another. */
export class FollowFeed {
  /** Offset each followed file was extended to (files of the last look only: bounded). */
  private extendedTo = new Map<string, number>();
  /** When the last new lines (or the last idle mark) were seen; undefined before the first look. */
  private quietSinceMs: number | undefined;

  constructor(private readonly options: FollowFeedOptions) {}

  /**
   * Feeds `run` until `stop` aborts or the run took `extensionsPerRun` extensions (resolves once
   * everything it sent is committed: every extension is awaited), or the run ends (rejects with
   * why, through `extend`).
   */
  async feed(run: OpenRun, stop: AbortSignal): Promise<void> {
    const { follower, intervalMs, idleTimeoutMs, clock = systemClock } = this.options;
    const perRun = this.options.extensionsPerRun ?? DEFAULT_EXTENSIONS_PER_RUN;
    const ended = AbortSignal.any([stop, run.signal]);
    let extensions = 0;
    this.quietSinceMs ??= clock.nowMs();
    while (!ended.aborted && extensions < perRun) {
      const started = clock.nowMs();
      const sources = await follower.round();
      if (sources.some((s) => this.extendedTo.get(identityOf(s)) !== s.endOffset)) {
        const info = await run.extend(sources);
        extensions++;
        // Read to their end and committed: files rotated away are let go.
        if (await follower.roundDone()) await this.options.onRetired?.();
        this.extendedTo = new Map(sources.map((s) => [identityOf(s), s.endOffset ?? s.size]));
        this.quietSinceMs = started;
        if (info !== undefined) await this.options.onVersion?.({ info, ms: clock.nowMs() - started, idle: false });
      } else if (idleTimeoutMs !== undefined && started - this.quietSinceMs >= idleTimeoutMs) {
        this.quietSinceMs = started;
        const watermarkMs = run.latest()?.watermarkMs;
        // Decided from the committed watermark: a restart that finds it committed goes on from
        // there, one that does not cuts the same mark again.
        if (watermarkMs !== undefined) {
          const info = await run.extend([], watermarkMs + idleTimeoutMs);
          extensions++;
          if (info !== undefined) await this.options.onVersion?.({ info, ms: clock.nowMs() - started, idle: true });
        }
      }
      const wait = Math.max(0, intervalMs - (clock.nowMs() - started));
      if (!ended.aborted) await clock.sleep(wait, ended).catch(() => {});
    }
  }
}
