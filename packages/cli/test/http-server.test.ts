import { ErrorCode, MrmError } from '@mrm/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type HttpServerHandle, json, startHttpServer } from '../src/ops/http-server.js';
import { MergeRate } from '../src/ops/merge-rate.js';
import { PromMetrics } from '../src/ops/prom-metrics.js';
import { parseMetricsText, sumOf } from './metrics-text.js';

describe('the HTTP server', () => {
  let server: HttpServerHandle | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const routes = [
    {
      method: 'GET' as const,
      path: /^\/hello\/([^/]+)$/,
      handle: async ({ params }: { params: readonly string[] }) => json({ hello: params[0] }),
    },
    {
      method: 'GET' as const,
      path: /^\/missing$/,
      handle: async () => {
        throw new MrmError(ErrorCode.State, "no job with id 'x'");
      },
    },
    {
      method: 'GET' as const,
      path: /^\/bad$/,
      handle: async () => {
        throw new MrmError(ErrorCode.BadOption, 'version must be a positive integer');
      },
    },
    {
      method: 'GET' as const,
      path: /^\/bug$/,
      handle: async () => {
        throw new Error('boom');
      },
    },
  ];

  it('listens on loopback by default and answers routes, unknown paths and wrong methods with JSON', async () => {
    server = await startHttpServer({ port: 0, routes });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ok = await fetch(`${server.url}/hello/w%C3%B6rld`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ hello: 'wörld' });
    const notFound = await fetch(`${server.url}/nope`);
    expect(notFound.status).toBe(404);
    expect(((await notFound.json()) as { error: { code: string } }).error.code).toBe('E_NOT_FOUND');
    expect((await fetch(`${server.url}/hello/x`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${server.url}/hello/x/more`)).status).toBe(404);
  });

  it('turns errors into status codes with one clear message', async () => {
    server = await startHttpServer({ port: 0, routes });
    const missing = await fetch(`${server.url}/missing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'E_STATE', message: "no job with id 'x'" } });
    expect((await fetch(`${server.url}/bad`)).status).toBe(400);
    const bug = await fetch(`${server.url}/bug`);
    expect(bug.status).toBe(500);
    expect(((await bug.json()) as { error: { message: string } }).error.message).toContain('boom');
  });

  it('asks for the bearer token when one is set', async () => {
    server = await startHttpServer({ port: 0, routes, token: 's3cret' });
    expect((await fetch(`${server.url}/hello/x`)).status).toBe(401);
    expect((await fetch(`${server.url}/hello/x`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${server.url}/hello/x`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    expect((await fetch(`${server.url}/hello/x?token=s3cret`)).status).toBe(200);
  });

  it('says which address it cannot listen on', async () => {
    server = await startHttpServer({ port: 0, routes });
    const port = server.port;
    await expect(startHttpServer({ port, routes })).rejects.toThrow(
      `cannot listen for HTTP on 127.0.0.1:${port}: EADDRINUSE`,
    );
  });
});

describe('PromMetrics', () => {
  it('exposes every catalogued metric and the process metrics, named mrm_, labelled with the process', async () => {
    const metrics = new PromMetrics({ role: 'merge', worker: 'merge-7' });
    metrics.add('mrm_partition_batches_merged_total', 3, { job: 'wc' });
    metrics.add('mrm_partition_batches_merged_total', 2, { job: 'wc' });
    metrics.observe('mrm_checkpoint_duration_seconds', 0.02, { job: 'wc' });
    metrics.set('mrm_lag_batches', 4, { job: 'wc' });
    const samples = parseMetricsText(await metrics.text());
    expect(samples.every((s) => s.name.startsWith('mrm_'))).toBe(true);
    expect(sumOf(samples, 'mrm_partition_batches_merged_total', { job: 'wc', worker: 'merge-7', role: 'merge' })).toBe(
      5,
    );
    expect(sumOf(samples, 'mrm_checkpoint_duration_seconds_count', { job: 'wc' })).toBe(1);
    expect(sumOf(samples, 'mrm_checkpoint_duration_seconds_bucket', { job: 'wc', le: '0.025' })).toBe(1);
    expect(sumOf(samples, 'mrm_lag_batches', { job: 'wc' })).toBe(4);
    expect(sumOf(samples, 'mrm_worker_up')).toBe(1);
    expect(sumOf(samples, 'mrm_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('keeps registries apart: two in one process do not share counts', async () => {
    const a = new PromMetrics({ role: 'map', worker: 'a' });
    const b = new PromMetrics({ role: 'map', worker: 'b' });
    a.add('mrm_records_read_total', 10, { job: 'wc' });
    expect(sumOf(parseMetricsText(await b.text()), 'mrm_records_read_total')).toBe(0);
    expect(sumOf(parseMetricsText(await a.text()), 'mrm_records_read_total')).toBe(10);
  });
});

describe('MergeRate', () => {
  it('counts batches merged per second over a window that slides', () => {
    let now = 10_000;
    const rate = new MergeRate(() => now, 5_000);
    const seen: number[] = [];
    const metrics = rate.observing({ add: (_n, v) => seen.push(v), set: () => {}, observe: () => {} });
    metrics.add('mrm_batches_merged_total', 2, { job: 'wc' });
    metrics.add('mrm_records_merged_total', 500, { job: 'wc' });
    now += 1_000;
    metrics.add('mrm_batches_merged_total', 3, { job: 'wc' });
    expect(seen).toEqual([2, 500, 3]);
    expect(rate.series()).toEqual({ startMs: 7_000, slotMs: 1000, counts: [0, 0, 0, 2, 3] });
    now += 10_000;
    expect(rate.series().counts).toEqual([0, 0, 0, 0, 0]);
  });
});
