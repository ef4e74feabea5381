import { describe, expect, it } from 'vitest';
import { CreditGate } from '../src/credit-gate.js';

describe('CreditGate', () => {
  it('lets a push through while credit lasts, then makes it wait for a grant', async () => {
    const gate = new CreditGate(100);
    expect(gate.acquire('m1', 60)).toBeUndefined();
    const wait = gate.acquire('m1', 60);
    expect(wait).toBeInstanceOf(Promise);
    expect(gate.waitingFor()).toEqual(['m1']);
    gate.grant('m1', 60);
    await wait;
    expect(gate.waitingFor()).toEqual([]);
    expect(gate.stats().waits).toBe(1);
  });

  it('keeps accounts apart per merge worker', () => {
    const gate = new CreditGate(100);
    expect(gate.acquire('m1', 100)).toBeUndefined();
    expect(gate.acquire('m2', 100)).toBeUndefined();
  });

  it('never grants above the window', () => {
    const gate = new CreditGate(100);
    gate.grant('m1', 1_000);
    expect(gate.acquire('m1', 100)).toBeUndefined();
    expect(gate.acquire('m1', 1)).toBeInstanceOf(Promise);
  });

  it('refills one account on reset (a restarted merge worker owes nothing) and wakes its waiters', async () => {
    const gate = new CreditGate(100);
    gate.acquire('m1', 100);
    gate.acquire('m2', 100);
    const waiting = gate.acquire('m1', 50);
    expect(waiting).toBeInstanceOf(Promise);
    gate.reset('m1');
    await waiting;
    expect(gate.acquire('m1', 50)).toBeUndefined();
    expect(gate.acquire('m2', 1)).toBeInstanceOf(Promise);
  });

  it('refills every account after a reconnect', async () => {
    const gate = new CreditGate(100);
    gate.acquire('m1', 100);
    const w = gate.acquire('m1', 10);
    gate.resetAll();
    await w;
    expect(gate.waitingFor()).toEqual([]);
  });

  it('rejects a waiting push when its signal aborts', async () => {
    const gate = new CreditGate(100);
    gate.acquire('m1', 100);
    const ac = new AbortController();
    const w = gate.acquire('m1', 10, ac.signal);
    ac.abort(new Error('stop'));
    await expect(w).rejects.toThrow('stop');
    expect(gate.waitingFor()).toEqual([]);
  });

  it('refuses a push whose signal aborted before it asked, credit or none, and spends nothing', async () => {
    const gate = new CreditGate(100);
    const ac = new AbortController();
    ac.abort(new Error('superseded'));
    // An abort listener would never fire for it: without the check it would wait for good here.
    await expect(gate.acquire('m1', 100, ac.signal)).rejects.toThrow('superseded');
    expect(gate.acquire('m1', 100)).toBeUndefined();
    await expect(gate.acquire('m1', 10, ac.signal)).rejects.toThrow('superseded');
    expect(gate.waitingFor()).toEqual([]);
  });
});
