import {
  type HeartbeatMessage,
  type Logger,
  silentLogger,
  startHeartbeat,
  systemClock,
  type Transport,
} from '@mrm/core';
import { MemoryBus } from '@mrm/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIRM_AFTER_MS, LivenessProbe } from '../src/service/liveness-probe.js';
import { WorkerRegistry } from '../src/service/worker-registry.js';

const PROBE_EVERY_MS = 50;
const PROBE_TIMEOUT_MS = 100;
/** Far beyond every wait here: only the probe can find a worker lost. */
const HEARTBEAT_TIMEOUT_MS = 60_000;

const beat = (workerId: string, startedAtMs: number): HeartbeatMessage => ({
  type: 'heartbeat',
  v: 1,
  workerId,
  role: 'merge',
  startedAtMs,
  stats: {},
});

/** A worker process as the CLI builds one: a heartbeat connection, and a main one answering `stats`. */
function workerProcess(bus: MemoryBus, id: string, answersStats = true) {
  const heartbeat = bus.connect();
  const main = bus.connect();
  const beats = startHeartbeat({
    transport: heartbeat,
    clock: systemClock,
    workerId: id,
    role: 'merge',
    stats: () => ({}),
  });
  // A main thread blocked for good: subscribed, never answering.
  main.subscribe({ kind: 'stats', workerId: id }, (_p, reply) =>
    answersStats ? reply?.(new Uint8Array(0)) : undefined,
  );
  return {
    heartbeat,
    main,
    beats,
    /** As SIGKILL does: both connections close, with every subscription. */
    async kill() {
      beats.cancel();
      await heartbeat.close();
      await main.close();
    },
  };
}

function setup(canJudge: () => boolean = () => true) {
  const bus = MemoryBus.create();
  const coordinator: Transport = bus.connect();
  const lost: Array<{ id: string; why: string; atMs: number }> = [];
  const registry = new WorkerRegistry(systemClock, HEARTBEAT_TIMEOUT_MS, (id, _role, why) =>
    lost.push({ id, why, atMs: Date.now() }),
  );
  registry.start();
  const logger: Logger = silentLogger;
  const probe = new LivenessProbe({
    transport: coordinator,
    clock: systemClock,
    registry,
    logger,
    everyMs: PROBE_EVERY_MS,
    timeoutMs: PROBE_TIMEOUT_MS,
    canJudge,
  });
  probe.start();
  const stop = () => {
    probe.stop();
    registry.stop();
  };
  return { bus, registry, lost, stop };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('LivenessProbe', () => {
  let stop: (() => void) | undefined;
  afterEach(() => {
    stop?.();
    stop = undefined;
  });

  it('finds a killed worker lost within a probe interval and the confirmation, long before its heartbeat timeout', async () => {
    const s = setup();
    stop = s.stop;
    const w = workerProcess(s.bus, 'merge-1');
    s.registry.heartbeat(beat('merge-1', 1));
    await sleep(5 * PROBE_EVERY_MS);
    expect(s.lost).toEqual([]);
    const killedAt = Date.now();
    await w.kill();
    for (let i = 0; i < 100 && s.lost.length === 0; i++) await sleep(20);
    expect(s.lost.map((l) => l.id)).toEqual(['merge-1']);
    expect(s.lost[0]?.why).toMatch(/liveness probe/);
    expect((s.lost[0]?.atMs ?? Number.POSITIVE_INFINITY) - killedAt).toBeLessThan(
      PROBE_EVERY_MS + CONFIRM_AFTER_MS + 500,
    );
    expect(s.registry.isAlive('merge-1')).toBe(false);
  });

  it('does not take a blocked main thread for dead: the heartbeat connection answers', async () => {
    const s = setup();
    stop = s.stop;
    workerProcess(s.bus, 'merge-1', false);
    s.registry.heartbeat(beat('merge-1', 1));
    await sleep(CONFIRM_AFTER_MS + 10 * PROBE_TIMEOUT_MS);
    expect(s.lost).toEqual([]);
  });

  it('counts a timeout for nothing: a heartbeat connection gone and a main thread that never answers', async () => {
    const s = setup();
    stop = s.stop;
    const w = workerProcess(s.bus, 'merge-1', false);
    w.beats.cancel();
    await w.heartbeat.close();
    s.registry.heartbeat(beat('merge-1', 1));
    await sleep(CONFIRM_AFTER_MS + 10 * PROBE_TIMEOUT_MS);
    expect(s.lost).toEqual([]);
    expect(s.registry.isAlive('merge-1')).toBe(true);
  });

  it('judges nobody while its own connection cannot be trusted', async () => {
    let trusted = false;
    const s = setup(() => trusted);
    stop = s.stop;
    const w = workerProcess(s.bus, 'merge-1');
    s.registry.heartbeat(beat('merge-1', 1));
    await w.kill();
    await sleep(CONFIRM_AFTER_MS + 10 * PROBE_EVERY_MS);
    expect(s.lost).toEqual([]);
    trusted = true;
    for (let i = 0; i < 100 && s.lost.length === 0; i++) await sleep(20);
    expect(s.lost.map((l) => l.id)).toEqual(['merge-1']);
  });
});
