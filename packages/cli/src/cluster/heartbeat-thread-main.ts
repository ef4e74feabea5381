/** Entry of the heartbeat thread (see heartbeat-thread.ts): its own connection, its own timer. */
import { parentPort, workerData } from 'node:worker_threads';
import { startHeartbeat, systemClock } from '@mrm/core';
import { NatsTransport } from '@mrm/transport-nats';
import type { HeartbeatThreadData, HeartbeatThreadMessage } from './heartbeat-thread.js';

const data = workerData as HeartbeatThreadData;
const port = parentPort;
if (port === null) throw new Error('heartbeat-thread-main runs only as a worker thread');

let latest: Extract<HeartbeatThreadMessage, { type: 'stats' }> = { type: 'stats', stats: {} };
let lastPostMs = Date.now();
const transport = await NatsTransport.connect({
  ...data.connect,
  name: `${data.connect.name ?? data.workerId}-heartbeat`,
});
const beat = startHeartbeat({
  transport,
  clock: systemClock,
  workerId: data.workerId,
  role: data.role,
  intervalMs: data.intervalMs,
  stats: () => ({ ...latest.stats, mainLagMs: Date.now() - lastPostMs }),
  resources: () => latest.resources ?? { cpuPercent: 0, rssBytes: 0, heapUsedBytes: 0 },
  phase: () => latest.phase ?? 'starting',
  ...(data.metricsUrl !== undefined ? { metricsUrl: data.metricsUrl } : {}),
  ...(data.incarnation !== undefined ? { incarnation: data.incarnation } : {}),
  // A hung main thread (not busy: silent for many minutes) must be found lost.
  alive: () => Date.now() - lastPostMs < data.hungAfterMs,
});
port.postMessage('beating');
port.on('message', (m: HeartbeatThreadMessage) => {
  if (m.type === 'stats') {
    latest = m;
    lastPostMs = Date.now();
    return;
  }
  beat.cancel();
  void transport.close().finally(() => port.close());
});
