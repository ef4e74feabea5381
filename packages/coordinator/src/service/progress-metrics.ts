/**
 * Turns a job's progress snapshots into metric increments: the coordinator's counters of merged
 * batches, records and committed versions count exactly what the job's summary reports.
 */
import type { JobProgress, Metrics } from '@mrm/core';

/** Per-job counters fed from progress snapshots (each snapshot is cumulative for its run). */
export class ProgressMetrics {
  private last = { mergedBatches: 0, records: 0, versions: 0 };

  constructor(
    private readonly metrics: Metrics,
    private readonly job: string,
  ) {}

  /** Adds what changed since the previous snapshot of the same run. */
  update(progress: JobProgress, versions: number): void {
    const labels = { job: this.job };
    const { metrics, last } = this;
    if (progress.mergedBatches > last.mergedBatches) {
      metrics.add('mrm_batches_merged_total', progress.mergedBatches - last.mergedBatches, labels);
    }
    if (progress.records > last.records)
      metrics.add('mrm_records_merged_total', progress.records - last.records, labels);
    if (versions > last.versions) metrics.add('mrm_versions_committed_total', versions - last.versions, labels);
    metrics.set('mrm_lag_batches', progress.lagBatches, labels);
    if (progress.watermarkMs !== undefined) metrics.set('mrm_watermark_seconds', progress.watermarkMs / 1000, labels);
    if (progress.lateRecords !== undefined) metrics.set('mrm_late_records', progress.lateRecords, labels);
    this.last = {
      mergedBatches: Math.max(last.mergedBatches, progress.mergedBatches),
      records: Math.max(last.records, progress.records),
      versions: Math.max(last.versions, versions),
    };
  }

  /** The run is over: no lag is left. */
  finish(): void {
    this.metrics.set('mrm_lag_batches', 0, { job: this.job });
  }
}
