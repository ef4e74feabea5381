/** The page size of new environments (decisions/0045), and old environments keeping theirs. */
import { canonicalKey, ErrorCode } from '@mrm/core';
import { DEFAULT_PAGE_SIZE_BYTES, LmdbStateStore } from '@mrm/store-lmdb';
import { open } from 'lmdb';
import { describe, expect, it } from 'vitest';
import { info, scanAll, tempDir } from './store-test-helpers.js';

/** The page size an environment was created with, read from LMDB itself. */
async function pageSizeOf(dir: string): Promise<number> {
  const raw = open({ path: dir, maxDbs: 9, readOnly: true });
  try {
    return (raw.getStats() as { pageSize: number }).pageSize;
  } finally {
    await raw.close();
  }
}

/** Writes and commits version `version` with `count` values of about 1 KB. */
async function writeLargeValues(store: LmdbStateStore, version: number, count: number): Promise<void> {
  const changes = Array.from({ length: count }, (_, i) => [canonicalKey(`k${i}`), 'x'.repeat(1000) + version] as const);
  await store.writePartition({ job: 'j', partition: 0, version, changes, batches: [] });
  await store.commitVersion('j', info(version));
}

describe('the LMDB page size', () => {
  it('is 16 KiB for a new environment, where 1 KB values share pages', async () => {
    const dir = tempDir();
    const store = await LmdbStateStore.open({ path: dir, noSync: true });
    await writeLargeValues(store, 1, 500);
    await store.close();
    expect(DEFAULT_PAGE_SIZE_BYTES).toBe(16_384);
    expect(await pageSizeOf(dir)).toBe(16_384);
  });

  it('stays what an existing environment was created with, which reads and writes as before', async () => {
    const dir = tempDir();
    const old = await LmdbStateStore.open({ path: dir, noSync: true, pageSizeBytes: 4096 });
    await writeLargeValues(old, 1, 50);
    await old.close();
    const reopened = await LmdbStateStore.open({ path: dir, noSync: true });
    await writeLargeValues(reopened, 2, 50);
    expect((await scanAll(reopened, 'j', 0, 1)).map(([, v]) => String(v).slice(-1))).toEqual(Array(50).fill('1'));
    expect((await scanAll(reopened, 'j', 0, 2)).map(([, v]) => String(v).slice(-1))).toEqual(Array(50).fill('2'));
    await reopened.close();
    expect(await pageSizeOf(dir)).toBe(4096);
  });

  it('refuses a page size LMDB does not take, with one line', async () => {
    await expect(LmdbStateStore.open({ path: tempDir(), pageSizeBytes: 5000 })).rejects.toMatchObject({
      code: ErrorCode.BadOption,
      message: 'LMDB pageSizeBytes 5000 is not one of 4096, 8192, 16384, 32768, 65536',
    });
  });
});
