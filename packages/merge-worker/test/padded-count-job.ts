/** The memory-budget tests' job: a count per key whose value carries ~1 KB, so a few dozen keys fill 32 KiB. */
import { type ResolvedJob, resolveJob } from '@mrm/core';

/** The ~1 KB every value carries. */
export const PAD = 'p'.repeat(1000);

/** The job named `name`; `onMerge` (if given) is called on every merge, before it returns. */
export function paddedCountJob(name: string, onMerge?: () => void): ResolvedJob {
  return resolveJob({
    name,
    partitions: 1,
    salt: false,
    map(line: string, emit: (k: string, v: number) => void) {
      emit(line, 1);
    },
    reduce: (_key: unknown, values: number[]) => values.reduce((a, b) => a + b, 0),
    merge: (_key: unknown, prev: { n: number; pad: string } | undefined, next: number) => {
      onMerge?.();
      return { n: (prev?.n ?? 0) + next, pad: PAD };
    },
  });
}
