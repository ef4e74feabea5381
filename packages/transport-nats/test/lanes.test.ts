import { describe, expect, it } from 'vitest';
import { Lanes } from '../src/lanes.js';

/** A promise with its resolve and reject. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('Lanes', () => {
  it('runs at most its count at once, the others in the order they came, freeing a lane on failure too', async () => {
    const lanes = new Lanes(2);
    const gates = [0, 1, 2, 3, 4].map(() => deferred<void>());
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const runs = gates.map((gate, i) =>
      lanes.run(async () => {
        started.push(i);
        running++;
        most = Math.max(most, running);
        try {
          await gate.promise;
        } finally {
          running--;
        }
        return i;
      }),
    );
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    await settle();
    expect(started).toEqual([0, 1]);
    gates[1]?.reject(new Error('put failed'));
    await expect(runs[1]).rejects.toThrow('put failed');
    await settle();
    expect(started).toEqual([0, 1, 2]);
    for (const gate of gates) gate.resolve();
    expect(await Promise.all([runs[0], runs[2], runs[3], runs[4]])).toEqual([0, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
  });
});
