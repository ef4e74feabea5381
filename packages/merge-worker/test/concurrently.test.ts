import { describe, expect, it } from 'vitest';
import { fetchAhead, forEachConcurrently } from '../src/concurrently.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('forEachConcurrently', () => {
  it('calls fn on every item, never more than `limit` at a time', async () => {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    await forEachConcurrently([0, 1, 2, 3, 4, 5, 6], 2, async (i) => {
      running++;
      most = Math.max(most, running);
      await tick();
      seen.push(i);
      running--;
    });
    expect(most).toBe(2);
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('rejects with the first failure only once every started call has settled, and starts no new one', async () => {
    const settled: number[] = [];
    const started: number[] = [];
    const done = forEachConcurrently([0, 1, 2, 3], 2, async (i) => {
      started.push(i);
      if (i === 0) throw new Error('partition 0 is gone');
      await tick();
      await tick();
      settled.push(i);
    });
    await expect(done).rejects.toThrow('partition 0 is gone');
    expect(started).toEqual([0, 1]);
    expect(settled).toEqual([1]);
  });
});

describe('fetchAhead', () => {
  it('yields in order with at most ahead + 1 gets in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const blobs = {
      async get(name: string) {
        inFlight++;
        most = Math.max(most, inFlight);
        await tick();
        inFlight--;
        return `bytes of ${name}`;
      },
    };
    const got: Array<readonly [string, string | undefined]> = [];
    for await (const entry of fetchAhead(blobs, ['a', 'b', 'c', 'd', 'e'], 2)) {
      got.push(entry);
      await tick();
      await tick();
    }
    expect(got).toEqual(['a', 'b', 'c', 'd', 'e'].map((n) => [n, `bytes of ${n}`]));
    expect(most).toBeLessThanOrEqual(3);
    expect(most).toBeGreaterThan(1);
  });

  it('surfaces a failed get in its turn, after the ones before it', async () => {
    const blobs = {
      async get(name: string) {
        if (name === 'c') throw new Error('c is missing');
        return name;
      },
    };
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const [name] of fetchAhead(blobs, ['a', 'b', 'c', 'd'], 3)) got.push(name);
      })(),
    ).rejects.toThrow('c is missing');
    expect(got).toEqual(['a', 'b']);
  });
});
