#!/usr/bin/env node
// Rough throughput of the LMDB state store (not a test, not the benchmark suite): writePartition
// puts/s with 10,000 small keys per write, getMany gets/s, scan entries/s. Numbers go to
// docs/storage.md. Run after building: `node packages/store-lmdb/scripts/measure.mjs`.
import fs from 'node:fs';
import os from 'node:os';
import { LmdbStateStore } from '@mrm/store-lmdb';

const KEYS = 10_000;
const VERSIONS = 10;
const keys = Array.from({ length: KEYS }, (_, i) => JSON.stringify(`word${i}`));

async function measure(noSync) {
  const dir = fs.mkdtempSync(`${os.tmpdir()}/mrm-measure-`);
  const store = await LmdbStateStore.open({ path: dir, noSync });
  try {
    let started = performance.now();
    for (let version = 1; version <= VERSIONS; version++) {
      const changes = keys.map((key, i) => [key, { count: i + version, sum: i * 1.5 }]);
      await store.writePartition({
        job: 'm',
        partition: 0,
        version,
        changes,
        batches: [`b${version}`],
        keyCount: KEYS,
      });
      await store.commitVersion('m', {
        version,
        createdAtMs: Date.now(),
        base: 0,
        batches: version,
        records: 0,
        keys: KEYS,
        label: 'measure',
      });
    }
    const putsPerSecond = (KEYS * VERSIONS) / ((performance.now() - started) / 1000);

    const rate = async (asOf) => {
      // Two rounds to warm the JIT and the page cache, then ten measured.
      for (let round = 0; round < 2; round++) await store.getMany('m', 0, keys, asOf);
      const t = performance.now();
      for (let round = 0; round < 10; round++) await store.getMany('m', 0, keys, asOf);
      return (10 * KEYS) / ((performance.now() - t) / 1000);
    };
    const latestGets = await rate(VERSIONS);
    const infinityGets = await rate(Number.POSITIVE_INFINITY);
    const oldGets = await rate(1);

    started = performance.now();
    let entries = 0;
    for await (const _ of store.scan('m', 0, { asOf: VERSIONS })) entries++;
    const scanned = (entries * VERSIONS) / ((performance.now() - started) / 1000);
    const round = (n) => Math.round(n / 1000) * 1000;
    console.log(
      `noSync=${noSync}: writePartition ${round(putsPerSecond)} puts/s; getMany ${round(latestGets)} gets/s ` +
        `(latest), ${round(infinityGets)} (Infinity), ${round(oldGets)} (version 1 of ${VERSIONS}); ` +
        `scan ${round(scanned)} stored entries/s (${VERSIONS} versions per key)`,
    );
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await measure(false);
await measure(true);
