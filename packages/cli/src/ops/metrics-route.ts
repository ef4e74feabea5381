/** The `/metrics` route every MRM process serves (Prometheus text format). */
import type { Route } from './http-server.js';
import type { PromMetrics } from './prom-metrics.js';

/** `GET /metrics`. */
export function metricsRoute(metrics: PromMetrics): Route {
  return {
    method: 'GET',
    path: /^\/metrics$/,
    handle: async () => ({ contentType: metrics.contentType, body: await metrics.text() }),
  };
}
