/**
 * The coordinator's HTTP routes, in one table: the dashboard, the JSON API (answered by the
 * coordinator service itself: the running job, then the queue, then the history), direct queries
 * on a job's live result through its merge workers, cancel, and the Prometheus metrics.
 */
import type { CoordinatorService } from '@mrm/coordinator';
import { ErrorCode, MrmError, parseKeyArgument, type Transport } from '@mrm/core';
import { openClusterResult } from '../cluster/remote-result.js';
import { statusJson } from '../cluster/status-json.js';
import { readJobKey } from '../result-output.js';
import { resultLine } from '../result-writer.js';
import type { DashboardAssets } from './dashboard-assets.js';
import { type HttpReply, json, type Route } from './http-server.js';
import type { MergeRate } from './merge-rate.js';
import { metricsRoute } from './metrics-route.js';
import type { PromMetrics } from './prom-metrics.js';

/** Time a query may take on the merge workers. */
const QUERY_TIMEOUT_MS = 30_000;

/** What the routes answer from. */
export interface CoordinatorHttpContext {
  readonly service: CoordinatorService;
  /** The coordinator's own connection, for queries to merge workers. */
  readonly transport: Transport;
  readonly metrics: PromMetrics;
  readonly mergeRate: MergeRate;
  readonly dashboard: DashboardAssets;
}

/** Parses `version=` of a query string: a positive integer, or absent. */
function versionParam(query: URLSearchParams): number | undefined {
  const text = query.get('version');
  if (text === null || text === '') return undefined;
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new MrmError(ErrorCode.BadOption, `version must be a positive integer, got '${text}'`);
  }
  return v;
}

function required(query: URLSearchParams, name: string): string {
  const v = query.get(name);
  if (v === null || v === '') throw new MrmError(ErrorCode.BadOption, `missing query parameter '${name}'`);
  return v;
}

/** The route table of the coordinator's HTTP server. */
export function coordinatorRoutes(ctx: CoordinatorHttpContext): Route[] {
  const { service, dashboard } = ctx;
  const asset =
    (name: keyof DashboardAssets): (() => Promise<HttpReply>) =>
    async () =>
      dashboard[name];
  return [
    { method: 'GET', path: /^\/$/, handle: asset('index') },
    { method: 'GET', path: /^\/dashboard\.js$/, handle: asset('script') },
    { method: 'GET', path: /^\/dashboard\.css$/, handle: asset('style') },
    metricsRoute(ctx.metrics),
    { method: 'GET', path: /^\/api\/jobs$/, handle: async () => json(statusJson(await service.status())) },
    {
      method: 'GET',
      path: /^\/api\/jobs\/([^/]+)$/,
      handle: async ({ params: [id] }) => json(statusJson(await service.status(id), id)),
    },
    {
      method: 'GET',
      path: /^\/api\/jobs\/([^/]+)\/versions$/,
      handle: async ({ params: [id] }) => {
        const job = (await service.status(id)).jobs[0];
        if (job === undefined) throw new MrmError(ErrorCode.State, `no job with id '${id}'`);
        const versions = await service.jobInfo(job.name).then(
          (info) => info.versions,
          // A job that never committed anything has no versions yet.
          () => [],
        );
        return json({ jobId: job.jobId, name: job.name, versions });
      },
    },
    {
      method: 'POST',
      path: /^\/api\/jobs\/([^/]+)\/cancel$/,
      handle: async ({ params: [id] }) => json(await service.cancel(id ?? '')),
    },
    {
      method: 'GET',
      path: /^\/api\/workers$/,
      handle: async () => json({ workers: (await service.status()).workers }),
    },
    { method: 'GET', path: /^\/api\/merge-rate$/, handle: async () => json(ctx.mergeRate.series()) },
    {
      method: 'GET',
      path: /^\/api\/query$/,
      handle: async ({ query }) => {
        const name = required(query, 'job');
        const key = parseKeyArgument(required(query, 'key'));
        const version = versionParam(query);
        const { source, job } = await openClusterResult(ctx.transport, name, QUERY_TIMEOUT_MS, {
          v: 1,
          ...(await service.jobInfo(name)),
        });
        const entry = await readJobKey(source, job, key, version);
        if (entry === undefined) {
          return json(
            {
              error: {
                code: 'E_NOT_FOUND',
                message: `key ${JSON.stringify(key)} is not in the result of job '${name}'`,
              },
            },
            404,
          );
        }
        // Byte for byte the line `mrm query --key` prints.
        return { contentType: 'application/json; charset=utf-8', body: resultLine(entry) };
      },
    },
  ];
}
