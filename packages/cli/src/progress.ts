/**
 * The progress bar of `mrm run` (records/s, batches, ETA), drawn on stderr only when it is a
 * terminal; nothing otherwise.
 */
import type { RunProgress } from '@mrm/coordinator';
import { SingleBar } from 'cli-progress';
import { thousands } from './report.js';

/** Shows progress while a run goes on. */
export class ProgressBar {
  private bar: SingleBar | undefined;
  private readonly startedMs = performance.now();

  constructor(private readonly enabled = process.stderr.isTTY === true) {}

  /** Takes a progress report. */
  update(p: RunProgress): void {
    if (!this.enabled) return;
    const elapsedS = Math.max(0.001, (performance.now() - this.startedMs) / 1000);
    const payload = {
      batches: `${p.mergedBatches}/${p.totalBatches}`,
      rps: thousands(p.records / elapsedS),
    };
    if (this.bar === undefined) {
      this.bar = new SingleBar({
        format: ' {bar} {percentage}% | {batches} batches | {rps} records/s | ETA {eta_formatted}',
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 20,
      });
      this.bar.start(Math.max(1, p.totalLines), p.mergedLines, payload);
    }
    this.bar.update(p.mergedLines, payload);
  }

  /** Removes the bar. */
  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
