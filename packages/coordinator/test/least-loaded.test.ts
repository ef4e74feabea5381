import { describe, expect, it } from 'vitest';
import { LeastLoaded } from '../src/run/least-loaded.js';

/** The worker `pick` names, after taking a task on it (as the dispatcher does). */
function take(l: LeastLoaded): string | undefined {
  const w = l.pick();
  if (w !== undefined) l.increment(w);
  return w;
}

describe('LeastLoaded', () => {
  it('gives equal workers tasks in turn', () => {
    const l = new LeastLoaded(['a', 'b', 'c']);
    expect(Array.from({ length: 7 }, () => take(l))).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('picks a worker whose load went down before the others', () => {
    const l = new LeastLoaded(['a', 'b', 'c']);
    for (let i = 0; i < 6; i++) take(l); // 2 each
    l.decrement('b');
    expect(take(l)).toBe('b');
    l.decrement('c');
    l.decrement('c');
    expect([take(l), take(l), take(l)]).toEqual(['c', 'c', 'a']);
  });

  it('always picks a worker with the fewest tasks in flight, as a scan would', () => {
    const workers = Array.from({ length: 20 }, (_, i) => `w${i}`);
    const l = new LeastLoaded(workers);
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let step = 0; step < 5_000; step++) {
      const r = random();
      const w = workers[Math.floor(random() * workers.length)] as string;
      if (r < 0.5) take(l);
      else if (r < 0.9) l.decrement(w);
      else if (r < 0.95) l.remove(w);
      else l.add(w);
      const known = workers.filter((x) => l.loadOf(x) !== undefined);
      const fewest = Math.min(...known.map((x) => l.loadOf(x) as number));
      const picked = l.pick();
      if (known.length === 0) expect(picked).toBeUndefined();
      else expect(l.loadOf(picked as string)).toBe(fewest);
    }
  });

  it('forgets a removed worker and never goes below no load', () => {
    const l = new LeastLoaded(['a', 'b']);
    take(l);
    l.remove('b');
    expect(l.pick()).toBe('a');
    l.decrement('a');
    l.decrement('a');
    expect(l.loadOf('a')).toBe(0);
    l.remove('a');
    expect(l.pick()).toBeUndefined();
    expect(l.size).toBe(0);
    l.increment('b'); // unknown: nothing
    expect(l.loadOf('b')).toBeUndefined();
  });
});
