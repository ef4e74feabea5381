/** Helpers of the LMDB store's tests: temporary directories, version records, whole scans. */
import fs from 'node:fs';
import os from 'node:os';
import type { CanonicalKey, VersionInfo } from '@mrm/core';
import type { LmdbStateStore } from '@mrm/store-lmdb';
import { afterEach } from 'vitest';

const tempDirs: string[] = [];

afterEach(() => {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory, removed after the test. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(`${os.tmpdir()}/mrm-`);
  tempDirs.push(dir);
  return dir;
}

/** A version record with fixed fields. */
export function info(version: number, base = 0): VersionInfo {
  return {
    version,
    createdAtMs: version,
    base,
    batches: version,
    records: version,
    keys: version,
    label: `v${version}`,
  };
}

/** Every entry a scan yields. */
export async function scanAll(store: LmdbStateStore, job: string, partition: number, asOf: number) {
  const entries: (readonly [CanonicalKey, unknown])[] = [];
  for await (const entry of store.scan(job, partition, { asOf })) entries.push(entry);
  return entries;
}
