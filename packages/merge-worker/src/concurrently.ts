/** Bounded concurrency without a library: a few lanes pulling from one queue. */

/**
 * Calls `fn` on every item, at most `limit` calls at a time; resolves when all have settled, and
 * then rejects with the first failure, if any (so no call is left running behind a rejection).
 */
export async function forEachConcurrently<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>) {
  const queue = [...items];
  const failures: unknown[] = [];
  const lane = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      await fn(item).catch((e: unknown) => {
        failures.push(e);
        queue.length = 0;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failures.length > 0) throw failures[0];
}
