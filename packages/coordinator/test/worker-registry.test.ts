import type { HeartbeatMessage, WorkerRole } from '@mrm/core';
import { FakeClock } from '@mrm/testkit';
import { describe, expect, it } from 'vitest';
import { WorkerRegistry } from '../src/service/worker-registry.js';

const beat = (workerId: string, startedAtMs: number, role: WorkerRole = 'merge'): HeartbeatMessage => ({
  type: 'heartbeat',
  v: 1,
  workerId,
  role,
  startedAtMs,
  stats: {},
});

function registry(timeoutMs = 1_000) {
  const clock = new FakeClock();
  const events: string[] = [];
  const reg = new WorkerRegistry(
    clock,
    timeoutMs,
    (id) => events.push(`lost ${id}`),
    (id) => events.push(`joined ${id}`),
  );
  reg.start();
  return { clock, events, reg };
}

describe('WorkerRegistry', () => {
  it('loses a worker whose heartbeats stop, once, and takes it back when it beats again', async () => {
    const { clock, events, reg } = registry();
    reg.heartbeat(beat('m1', 1));
    await clock.advance(500);
    reg.heartbeat(beat('m1', 1));
    await clock.advance(1_500);
    await clock.advance(1_500);
    expect(events).toEqual(['joined m1', 'lost m1']);
    expect(reg.isAlive('m1')).toBe(false);
    reg.heartbeat(beat('m1', 1));
    expect(events).toEqual(['joined m1', 'lost m1', 'joined m1']);
    expect(reg.alive('merge')).toEqual(['m1']);
  });

  it('takes a restart under the same id (a new startedAtMs) as a loss before the timeout', async () => {
    const { clock, events, reg } = registry(60_000);
    reg.heartbeat(beat('m1', 1));
    reg.heartbeat(beat('m2', 1));
    await clock.advance(100);
    // A restarted container keeps its name; its new process beats well within the timeout.
    reg.heartbeat(beat('m1', 2));
    expect(events).toEqual(['joined m1', 'joined m2', 'lost m1', 'joined m1']);
    expect(reg.alive('merge')).toEqual(['m1', 'm2']);
    reg.heartbeat(beat('m1', 2));
    expect(events).toHaveLength(4);
    // Back already, but the loss is on record for whoever waits for it.
    expect(reg.lostSince('m1', clock.nowMs() - 50)).toBe(true);
    expect(reg.lostSince('m1', clock.nowMs() + 1)).toBe(false);
    expect(reg.lostSince('m2', 0)).toBe(false);
  });

  it('loses a worker declared lost at once, but not a new process under its id', () => {
    const { events, reg } = registry(60_000);
    reg.heartbeat(beat('m1', 1));
    reg.heartbeat(beat('m2', 1));
    reg.heartbeat(beat('m2', 2)); // m2 restarted: a verdict about its old process is stale
    expect(reg.declareLost('m2', 1, 'probe')).toBe(false);
    expect(reg.declareLost('m1', 1, 'probe')).toBe(true);
    expect(reg.declareLost('m1', 1, 'probe')).toBe(false);
    expect(events).toEqual(['joined m1', 'joined m2', 'lost m2', 'joined m2', 'lost m1']);
    expect(reg.alive('merge')).toEqual(['m2']);
  });

  it('tells loss listeners about a restart too', () => {
    const { events, reg } = registry();
    const lost: string[] = [];
    reg.onLoss((id) => lost.push(id));
    reg.heartbeat(beat('m1', 1, 'map'));
    reg.heartbeat(beat('m1', 5, 'map'));
    expect(lost).toEqual(['m1']);
    expect(events.at(-1)).toBe('joined m1');
  });
});
