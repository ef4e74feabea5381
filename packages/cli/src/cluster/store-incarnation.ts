/**
 * The incarnation of a merge worker's store: an id created together with its LMDB environment and
 * sent in every heartbeat. A worker restarted under the same `--id` with an empty `--state` (a
 * container rescheduled without its volume) reports another one, and the coordinator stops
 * trusting it with the partitions the old store held (decisions/0048).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StatePaths } from '../state-dir.js';

const FILE = 'incarnation';

/**
 * The store's incarnation; call it before the store is opened. A new id when the LMDB environment
 * does not exist yet (whatever an old file says: that store is gone) or when an existing store has
 * none (a folder from before incarnations, kept from now on).
 */
export function storeIncarnation(paths: StatePaths): string {
  const file = join(paths.root, FILE);
  if (existsSync(paths.lmdb) && existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (id !== '') return id;
  }
  const id = randomUUID();
  writeFileSync(file, `${id}\n`);
  return id;
}
