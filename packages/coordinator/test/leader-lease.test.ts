import { ErrorCode, type MrmError } from '@mrm/core';
import { MemoryBus } from '@mrm/runtime';
import { FakeClock } from '@mrm/testkit';
import { describe, expect, it } from 'vitest';
import { LeaderLease } from '../src/service/leader-lease.js';

const LEASE_MS = 1000;

/** Coordinators on one bus (each its own connection) and one clock. */
function coordinators(clock: FakeClock) {
  const bus = MemoryBus.create({ clock });
  return (id: string) => LeaderLease.open({ transport: bus.connect(), id, leaseMs: LEASE_MS, clock });
}

describe('LeaderLease', () => {
  it('leads at once when nobody leads; a second coordinator stands by while the leader renews', async () => {
    const clock = new FakeClock();
    const open = coordinators(clock);
    const a = await open('a');
    const b = await open('b');
    await a.acquire(new AbortController().signal);
    expect(a.state).toBe('leading');
    let bLeads = false;
    const standing = b.acquire(new AbortController().signal).then(() => {
      bLeads = true;
    });
    await clock.advance(LEASE_MS * 10);
    expect(bLeads).toBe(false);
    expect(b.state).toBe('standing-by');
    a.close(); // stops renewing: as dead, for the others
    await clock.advance(LEASE_MS + LEASE_MS / 4);
    await standing;
    expect(b.state).toBe('leading');
    b.close();
  });

  it('does not take over before the lead has been silent for a whole lease', async () => {
    const clock = new FakeClock();
    const open = coordinators(clock);
    const a = await open('a');
    const b = await open('b');
    await a.acquire(new AbortController().signal);
    let bLeads = false;
    const standing = b.acquire(new AbortController().signal).then(() => {
      bLeads = true;
    });
    await clock.advance(LEASE_MS / 2);
    a.close();
    await clock.advance(LEASE_MS * 0.75);
    expect(bLeads).toBe(false);
    await clock.advance(LEASE_MS);
    await standing;
    expect(bLeads).toBe(true);
    b.close();
  });

  it('hands over at once when the leader releases the lead', async () => {
    const clock = new FakeClock();
    const open = coordinators(clock);
    const a = await open('a');
    const b = await open('b');
    await a.acquire(new AbortController().signal);
    const standing = b.acquire(new AbortController().signal);
    await clock.advance(LEASE_MS / 4);
    await a.release();
    await clock.advance(LEASE_MS / 4);
    await standing;
    expect(b.state).toBe('leading');
    b.close();
  });

  it('lets exactly one of two standbys take over', async () => {
    const clock = new FakeClock();
    const open = coordinators(clock);
    const a = await open('a');
    const [b, c] = await Promise.all([open('b'), open('c')]);
    await a.acquire(new AbortController().signal);
    const stop = new AbortController();
    const waits = [b, c].map((x) => x.acquire(stop.signal).catch(() => {}));
    a.close();
    await clock.advance(LEASE_MS * 5);
    expect([b.state, c.state].sort()).toEqual(['leading', 'standing-by']);
    stop.abort();
    await Promise.all(waits);
    b.close();
    c.close();
  });

  it('fences a leader that was not heard from while another took over: confirm throws, lost settles', async () => {
    const clock = new FakeClock();
    const open = coordinators(clock);
    const a = await open('a');
    const b = await open('b');
    await a.acquire(new AbortController().signal);
    await a.confirm();
    a.close(); // paused: renews nothing
    const standing = b.acquire(new AbortController().signal);
    await clock.advance(LEASE_MS * 3);
    await standing;
    // A wakes up: its next write checks the lead first.
    const error = await a.confirm().then(
      () => undefined,
      (e: unknown) => e as MrmError,
    );
    expect(error?.code).toBe(ErrorCode.Fenced);
    expect((await a.lost).code).toBe(ErrorCode.Fenced);
    expect(a.state).toBe('lost');
    await b.confirm();
    b.close();
  });
});
