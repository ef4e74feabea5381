/**
 * Heartbeats that a busy process still sends. A worker's heartbeats come from a worker thread
 * with its own NATS connection, so user code, a long merge or a synchronous LMDB stretch on the
 * main thread cannot starve them (a false "worker lost" costs a whole reassignment). The main
 * thread posts its counters to the thread every interval; the thread sends the latest with every
 * beat and adds `mainLagMs`, how long the main thread has not posted.
 *
 * A main thread silent for {@link HeartbeatThreadOptions.hungAfterMs} is taken as hung (an endless
 * loop in user code): the thread stops beating so that the coordinator does declare it lost.
 */
import { Worker } from 'node:worker_threads';
import type { WorkerResources, WorkerRole } from '@mrm/core';
import type { NatsTransportOptions } from '@mrm/transport-nats';

/** Default: a heartbeat every second (the coordinator's timeout is several of them). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1000;
/** Default: a main thread that posted nothing for 10 minutes is hung, not busy. */
export const DEFAULT_HUNG_AFTER_MS = 10 * 60_000;

/** Options of {@link startHeartbeatThread}. */
export interface HeartbeatThreadOptions {
  /** How to connect (the thread opens its own connection; no logger: it cannot cross threads). */
  readonly connect: Omit<NatsTransportOptions, 'logger'>;
  readonly workerId: string;
  readonly role: WorkerRole;
  /** Counters sent with every beat (read on the main thread every interval). */
  readonly stats: () => Readonly<Record<string, number>>;
  /** CPU and memory, sampled on the main thread every interval. */
  readonly resources?: () => WorkerResources;
  /** What the worker is doing (read on the main thread every interval). */
  readonly phase?: () => string;
  /** Where the worker serves its metrics. */
  readonly metricsUrl?: string;
  /** A merge worker's store id (see HeartbeatMessage.incarnation). */
  readonly incarnation?: string;
  readonly intervalMs?: number;
  readonly hungAfterMs?: number;
}

/** What the thread gets at start (structured-clone safe). */
export interface HeartbeatThreadData {
  readonly connect: Omit<NatsTransportOptions, 'logger'>;
  readonly workerId: string;
  readonly role: WorkerRole;
  readonly intervalMs: number;
  readonly hungAfterMs: number;
  readonly metricsUrl?: string;
  readonly incarnation?: string;
}

/** Messages from the main thread to the heartbeat thread. */
export type HeartbeatThreadMessage =
  | {
      readonly type: 'stats';
      readonly stats: Readonly<Record<string, number>>;
      readonly resources?: WorkerResources;
      readonly phase?: string;
    }
  | { readonly type: 'stop' };

/** A running heartbeat thread. */
export interface HeartbeatThread {
  /** Stops beating, closes the thread's connection and waits for the thread to end. */
  stop(): Promise<void>;
}

/** Starts the heartbeat thread; resolves once its first beat has been sent. */
export async function startHeartbeatThread(options: HeartbeatThreadOptions): Promise<HeartbeatThread> {
  const data: HeartbeatThreadData = {
    connect: options.connect,
    workerId: options.workerId,
    role: options.role,
    intervalMs: options.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
    hungAfterMs: options.hungAfterMs ?? DEFAULT_HUNG_AFTER_MS,
    ...(options.metricsUrl !== undefined ? { metricsUrl: options.metricsUrl } : {}),
    ...(options.incarnation !== undefined ? { incarnation: options.incarnation } : {}),
  };
  const worker = new Worker(new URL('./heartbeat-thread-main.js', import.meta.url), { workerData: data });
  const post = (m: HeartbeatThreadMessage) => worker.postMessage(m);
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const statsMessage = (): HeartbeatThreadMessage => ({
    type: 'stats',
    stats: options.stats(),
    ...(options.resources !== undefined ? { resources: options.resources() } : {}),
    ...(options.phase !== undefined ? { phase: options.phase() } : {}),
  });
  post(statsMessage());
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
    void exited.then(() => reject(new Error('the heartbeat thread ended before its first beat')));
  });
  const timer = setInterval(() => post(statsMessage()), data.intervalMs);
  timer.unref();
  worker.unref();
  return {
    async stop() {
      clearInterval(timer);
      post({ type: 'stop' });
      await exited;
    },
  };
}
