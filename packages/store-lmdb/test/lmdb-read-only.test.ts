/** `readOnly`: reading a store that must not (or cannot) be written. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LmdbStateStore } from '@mrm/store-lmdb';
import { afterEach, describe, expect, it } from 'vitest';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/**
 * Names, sizes and modification times of the data files under `dir`. (The lock file is left out:
 * when it is writable, a reader takes a reader slot in it, as LMDB readers do.)
 */
function files(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f !== 'lock.mdb')
    .map((f) => {
      const s = fs.statSync(path.join(dir, f));
      return `${f}:${s.size}:${s.mtimeMs}`;
    })
    .sort();
}

describe('LmdbStateStore opened readOnly', () => {
  it('reads the committed versions, rejects writes and changes no file', async () => {
    const dir = fs.mkdtempSync(`${os.tmpdir()}/mrm-ro-`);
    dirs.push(dir);
    const writer = await LmdbStateStore.open({ path: dir });
    await writer.commitVersion('j', {
      version: 1,
      createdAtMs: 1,
      base: 0,
      batches: 1,
      records: 1,
      keys: 0,
      label: 'v1',
    });
    await writer.close();
    const before = files(dir);

    const reader = await LmdbStateStore.open({ path: dir, readOnly: true });
    expect(reader.options.readOnly).toBe(true);
    expect((await reader.listVersions('j')).map((v) => v.version)).toEqual([1]);
    await expect(
      reader.commitVersion('j', { version: 2, createdAtMs: 2, base: 0, batches: 2, records: 2, keys: 0, label: 'v2' }),
    ).rejects.toThrow();
    await reader.close();
    expect(files(dir)).toEqual(before);
  });
});
