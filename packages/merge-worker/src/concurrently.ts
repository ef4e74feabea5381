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

/**
 * Yields `[name, blob]` for `names` (gets from `blobs`) in order, with up to `ahead` further gets in flight while the
 * caller works on the current one. A get that fails rejects when its turn comes (not before).
 */
export async function* fetchAhead<T>(
  blobs: { get(name: string): Promise<T> },
  names: readonly string[],
  ahead: number,
): AsyncGenerator<readonly [string, T | undefined]> {
  const pending: Array<Promise<T | undefined>> = [];
  const request = (i: number) => {
    const name = names[i];
    if (name === undefined) return;
    const got = blobs.get(name);
    got.catch(() => {}); // awaited in its turn below
    pending[i] = got;
  };
  for (let i = 0; i <= ahead; i++) request(i);
  for (let i = 0; i < names.length; i++) {
    const data = await (pending[i] as Promise<T | undefined>);
    pending[i] = Promise.resolve(undefined); // let go of the bytes
    request(i + ahead + 1);
    yield [names[i] as string, data];
  }
}
