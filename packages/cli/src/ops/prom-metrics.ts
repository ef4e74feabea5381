/**
 * The Metrics port on prom-client: one registry per process (never prom-client's global one),
 * every metric of the core catalogue registered once, the process's CPU, memory and event-loop
 * metrics beside them, all prefixed `mrm_`, and the process's role and id on every sample.
 */
import { METRICS, type MetricLabels, type MetricName, type Metrics } from '@mrm/core';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Who this process is, put on every sample as labels. */
export interface ProcessIdentity {
  /** 'coordinator', 'map' or 'merge'. */
  readonly role: string;
  /** Worker id, or 'coordinator'. */
  readonly worker: string;
}

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

/** A Prometheus registry behind the {@link Metrics} port. */
export class PromMetrics implements Metrics {
  private readonly registry = new Registry();
  private readonly metrics = new Map<MetricName, AnyMetric>();

  constructor(identity: ProcessIdentity) {
    this.registry.setDefaultLabels({ role: identity.role, worker: identity.worker });
    collectDefaultMetrics({ register: this.registry, prefix: 'mrm_' });
    for (const [name, spec] of Object.entries(METRICS) as Array<[MetricName, (typeof METRICS)[MetricName]]>) {
      const common = { name, help: spec.help, labelNames: [...spec.labels], registers: [this.registry] };
      this.metrics.set(
        name,
        spec.kind === 'counter'
          ? new Counter(common)
          : spec.kind === 'gauge'
            ? new Gauge(common)
            : new Histogram({ ...common, buckets: [...('buckets' in spec ? spec.buckets : [])] }),
      );
    }
    this.set('mrm_worker_up', 1);
  }

  add(name: Parameters<Metrics['add']>[0], value: number, labels: MetricLabels = {}): void {
    if (value > 0) (this.metrics.get(name) as Counter<string>).inc(labels, value);
  }

  set(name: Parameters<Metrics['set']>[0], value: number, labels: MetricLabels = {}): void {
    (this.metrics.get(name) as Gauge<string>).set(labels, value);
  }

  observe(name: Parameters<Metrics['observe']>[0], seconds: number, labels: MetricLabels = {}): void {
    (this.metrics.get(name) as Histogram<string>).observe(labels, seconds);
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
