/** A seeded random source for property-style tests: a failing seed reproduces the failure. */

/** Random helpers over one seeded stream (mulberry32). */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T;
  /** A shuffled copy. */
  shuffle<T>(list: readonly T[]): T[];
  /** The list cut at random points into at most `maxParts` non-empty consecutive parts (one at least). */
  split<T>(list: readonly T[], maxParts?: number): T[][];
}

/** A random source seeded with `seed`. */
export function seeded(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  /** How many parts to cut `length` values into. */
  const partCount = (length: number, maxParts: number): number =>
    length <= 1 || next() < 0.3 ? 1 : 2 + int(Math.min(length, maxParts) - 1);
  const random: Random = {
    next,
    int,
    chance: (p) => next() < p,
    pick: <T>(list: readonly T[]): T => list[int(list.length)] as T,
    shuffle: <T>(list: readonly T[]): T[] => {
      const out = list.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [out[i], out[j]] = [out[j] as T, out[i] as T];
      }
      return out;
    },
    split: <T>(list: readonly T[], maxParts = 12): T[][] => {
      // 1 part most often, else up to maxParts parts cut at random places.
      const parts = partCount(list.length, maxParts);
      const cuts = new Set<number>();
      while (cuts.size < parts - 1) cuts.add(1 + int(list.length - 1));
      const bounds = [0, ...[...cuts].sort((a, b) => a - b), list.length];
      return bounds.slice(1).map((end, i) => list.slice(bounds[i], end));
    },
  };
  return random;
}
