/**
 * Write transactions. lmdb-js runs an asynchronous transaction's callback when the batched write
 * transaction starts; throwing there does NOT undo the writes made before the throw, so callbacks
 * that may throw half-way run in a child transaction, which does roll back.
 */
import type { Database } from 'lmdb';
import type { LmdbKey } from './key-layout.js';

/** Any database of the store (all share one environment, so one transaction covers them all). */
export type StoreDatabase = Database<unknown, LmdbKey>;

/**
 * Runs `action` in one write transaction that is rolled back entirely if `action` throws, and
 * resolves once the commit is durable (flushed to disk) unless `durable` is false.
 */
export async function writeAtomically<T>(db: StoreDatabase, durable: boolean, action: () => T): Promise<T> {
  const result = await db.transaction(() => db.childTransaction(action));
  // With overlappingSync (lmdb's default on Linux) a commit resolves before its flush.
  if (durable) await db.flushed;
  return result;
}

/**
 * Removes the keys `collect` returns, batch after batch, each batch in its own transaction, until a
 * batch comes back short. For deletions too large to hold in memory at once (dropping a job).
 */
export async function removeInBatches(
  db: StoreDatabase,
  collect: (limit: number) => LmdbKey[],
  batchSize = 10_000,
): Promise<void> {
  for (;;) {
    const removed = await db.transaction(() => {
      const keys = collect(batchSize);
      for (const key of keys) db.remove(key);
      return keys.length;
    });
    if (removed < batchSize) return;
  }
}
