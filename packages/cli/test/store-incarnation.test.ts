/** The incarnation of a merge worker's store (decisions/0048): new exactly when the store is. */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LmdbStateStore } from '@mrm/store-lmdb';
import { afterEach, describe, expect, it } from 'vitest';
import { storeIncarnation } from '../src/cluster/store-incarnation.js';
import { statePaths } from '../src/state-dir.js';
import { tempDir } from './cli-helpers.js';

describe('storeIncarnation', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  /** A state folder, as `mrm worker` has it once its lock is taken. */
  function folder() {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const paths = statePaths(join(dir, 'state'));
    mkdirSync(paths.root);
    return paths;
  }

  it('keeps the id while the store lives, and makes a new one when the store is gone', async () => {
    const paths = folder();
    const first = storeIncarnation(paths);
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    const store = await LmdbStateStore.open({ path: paths.lmdb });
    await store.close();
    // The same store opened again (a restart with its own disk): the same incarnation.
    expect(storeIncarnation(paths)).toBe(first);
    // The store deleted, whatever is left beside it: another incarnation, kept from then on.
    rmSync(paths.lmdb, { recursive: true, force: true });
    const second = storeIncarnation(paths);
    expect(second).not.toBe(first);
    await (await LmdbStateStore.open({ path: paths.lmdb })).close();
    expect(storeIncarnation(paths)).toBe(second);
  });

  it('gives a store from before incarnations one, and keeps it', async () => {
    const paths = folder();
    await (await LmdbStateStore.open({ path: paths.lmdb })).close();
    const given = storeIncarnation(paths);
    expect(storeIncarnation(paths)).toBe(given);
  });
});
