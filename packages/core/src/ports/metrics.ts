/**
 * The Metrics port: roles count, set and time what operators watch, without knowing how it is
 * exported. The CLI plugs in a Prometheus registry (prom-client); libraries default to
 * {@link noMetrics}. Every metric is declared once in {@link METRICS}: its kind, help text and
 * labels, so the adapter registers each exactly once and the docs list them from one place.
 */

/** Kinds of metric. */
export const MetricKind = { Counter: 'counter', Gauge: 'gauge', Histogram: 'histogram' } as const;
/** One of the {@link MetricKind} values. */
export type MetricKind = (typeof MetricKind)[keyof typeof MetricKind];

/** Declaration of one metric. */
export interface MetricSpec {
  readonly kind: MetricKind;
  readonly help: string;
  /** Label names (the process's `worker` and `role` are added to every metric by the adapter). */
  readonly labels: readonly string[];
  /** Histogram buckets, in seconds. */
  readonly buckets?: readonly number[];
}

/** Buckets of durations that range from milliseconds to minutes. */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Every metric MRM exports. Names start `mrm_`; counters end `_total`, durations `_seconds`. */
export const METRICS = {
  mrm_records_read_total: { kind: 'counter', help: 'Records read by map tasks.', labels: ['job'] },
  mrm_bytes_read_total: {
    kind: 'counter',
    help: 'Input bytes read by map tasks (decompressed).',
    labels: ['job'],
  },
  mrm_pairs_pushed_total: {
    kind: 'counter',
    help: 'Key/value pairs pushed to merge workers (after combine).',
    labels: ['job'],
  },
  mrm_bytes_pushed_total: { kind: 'counter', help: 'Encoded frame bytes pushed to merge workers.', labels: ['job'] },
  mrm_credit_waits_total: {
    kind: 'counter',
    help: 'Pushes that waited for credit from a merge worker (back-pressure).',
    labels: [],
  },
  mrm_credit_wait_seconds_total: { kind: 'counter', help: 'Time pushes spent waiting for credit.', labels: [] },
  mrm_map_tasks_total: { kind: 'counter', help: 'Map tasks finished.', labels: ['job'] },
  mrm_batches_merged_total: {
    kind: 'counter',
    help: 'Batches merged on every merge worker of their job (coordinator; agrees with the job summary).',
    labels: ['job'],
  },
  mrm_records_merged_total: {
    kind: 'counter',
    help: 'Records of batches merged on every merge worker (coordinator; agrees with the job summary).',
    labels: ['job'],
  },
  mrm_partition_batches_merged_total: {
    kind: 'counter',
    help: "Batches merged into one of this merge worker's partitions.",
    labels: ['job'],
  },
  mrm_versions_committed_total: { kind: 'counter', help: 'Versions committed.', labels: ['job'] },
  mrm_lag_batches: {
    kind: 'gauge',
    help: 'Batches dispatched to map workers but not yet merged everywhere.',
    labels: ['job'],
  },
  mrm_watermark_seconds: {
    kind: 'gauge',
    help: 'Watermark of a windowed job with lateness, as of its latest committed version (seconds since the epoch).',
    labels: ['job'],
  },
  mrm_late_records: {
    kind: 'gauge',
    help: 'Late records (windows already final, not merged) of a windowed job, as of its latest committed version.',
    labels: ['job'],
  },
  mrm_frames_received_total: { kind: 'counter', help: 'Frames received by a merge worker.', labels: [] },
  mrm_bytes_received_total: { kind: 'counter', help: 'Frame bytes received by a merge worker.', labels: [] },
  mrm_spill_bytes_total: {
    kind: 'counter',
    help: 'Bytes of batch buffers a merge worker parked on disk (memory budget exceeded).',
    labels: [],
  },
  mrm_checkpoint_duration_seconds: {
    kind: 'histogram',
    help: "Time a merge worker took to write one partition's checkpoint.",
    labels: ['job'],
    buckets: DURATION_BUCKETS,
  },
  mrm_commit_duration_seconds: {
    kind: 'histogram',
    help: 'Time the coordinator took to commit one group of versions (all those ready at once) everywhere.',
    labels: ['job'],
    buckets: DURATION_BUCKETS,
  },
  mrm_worker_up: { kind: 'gauge', help: '1 while the worker (or coordinator) process runs.', labels: [] },
  mrm_workers_alive: { kind: 'gauge', help: 'Workers the coordinator counts alive.', labels: ['worker_role'] },
  mrm_jobs: { kind: 'gauge', help: 'Jobs queued or running on the coordinator.', labels: ['state'] },
  mrm_jobs_finished_total: { kind: 'counter', help: 'Jobs finished, by outcome.', labels: ['state'] },
  mrm_stalled_jobs: {
    kind: 'gauge',
    help: 'Running jobs without progress for longer than the watchdog time.',
    labels: [],
  },
} as const satisfies Record<string, MetricSpec>;

/** A metric name. */
export type MetricName = keyof typeof METRICS;
/** Names of metrics of one kind. */
export type MetricNameOf<K extends MetricKind> = {
  [N in MetricName]: (typeof METRICS)[N]['kind'] extends K ? N : never;
}[MetricName];
/** Label values of a metric. */
export type MetricLabels = Readonly<Record<string, string>>;

/** Where roles report metrics. Calls are cheap and never throw. */
export interface Metrics {
  /** Adds `value` (≥ 0) to a counter. */
  add(name: MetricNameOf<'counter'>, value: number, labels?: MetricLabels): void;
  /** Sets a gauge. */
  set(name: MetricNameOf<'gauge'>, value: number, labels?: MetricLabels): void;
  /** Records one observation (seconds) in a histogram. */
  observe(name: MetricNameOf<'histogram'>, seconds: number, labels?: MetricLabels): void;
}

/** Metrics that go nowhere: the default of every library. */
export const noMetrics: Metrics = {
  add: () => {},
  set: () => {},
  observe: () => {},
};
