// What group commit saves in the LMDB store (durable writes, as merge workers and an embedded
// coordinator open it): 16 small metadata records (a merge worker's copy-at/p<p> per commit)
// written one after the other vs all at once (lmdb-js batches them into one transaction and one
// flush), and 50 versions committed one by one vs in one commitVersions. Wall milliseconds and
// this process's CPU milliseconds of each (run it alone: the fsyncs are most of the wall time).
// node scripts/perf/group-commit-store.mjs [--packages=<dir of built packages>]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const packages = resolve(
  process.argv.find((a) => a.startsWith('--packages='))?.slice('--packages='.length) ??
    new URL('../../packages', import.meta.url).pathname,
);
const { LmdbStateStore } = await import(`${packages}/store-lmdb/dist/index.js`);
const dir = mkdtempSync(join(tmpdir(), 'mrm-group-commit-'));
const store = await LmdbStateStore.open({ path: dir });
const PARTITIONS = 16;
const ROUNDS = 20;
const VERSIONS = 50;

async function timed(what, fn) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await fn();
  const { user, system } = process.cpuUsage(cpu);
  return { what, wallMs: Math.round(performance.now() - started), cpuMs: Math.round((user + system) / 1000) };
}

const record = (p, round) => store.putMeta('j', `copy-at/p${p}`, { version: round, token: 1 });
const info = (v) => ({ version: v, createdAtMs: 1, base: 0, batches: v, records: v, keys: 1, label: `v${v}` });
const results = [
  await timed(`${ROUNDS} × ${PARTITIONS} records one after the other`, async () => {
    for (let r = 0; r < ROUNDS; r++) for (let p = 0; p < PARTITIONS; p++) await record(p, r);
  }),
  await timed(`${ROUNDS} × ${PARTITIONS} records all at once`, async () => {
    for (let r = 0; r < ROUNDS; r++) await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => record(p, r)));
  }),
  await timed(`${VERSIONS} versions committed one by one`, async () => {
    for (let v = 1; v <= VERSIONS; v++) await store.commitVersion('j', info(v));
  }),
  await timed(`${VERSIONS} versions in one commitVersions`, async () => {
    await store.commitVersions(
      'j',
      Array.from({ length: VERSIONS }, (_, i) => info(VERSIONS + 1 + i)),
    );
  }),
];
for (const r of results) console.log(`${r.what}: ${r.wallMs} ms wall, ${r.cpuMs} ms CPU`);
await store.close();
rmSync(dir, { recursive: true, force: true });
