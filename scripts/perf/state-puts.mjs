// CPU seconds and data.mdb size of LmdbStateStore.writePartition: part-00.txt's distinct words over 16
// partitions, 3 versions, changes in first-seen order (`plain`) or sorted by key (`sorted`):
//   node scripts/perf/state-puts.mjs <checkout>/packages plain|sorted
import { readFileSync, rmSync, statSync } from 'node:fs';

const root = process.argv[2];
const mode = process.argv[3];
const { LmdbStateStore } = await import(`${root}/store-lmdb/dist/index.js`);
const core = await import(`${root}/core/dist/index.js`);
const text = readFileSync('/tmp/mrm-bench-data/14fa82696b43a8fb-x4-f8/part-00.txt', 'utf8');
const words = new Map();
for (const w of text.match(/[A-Za-z]+/g)) words.set(w, (words.get(w) ?? 0) + 1);
let parts = Array.from({ length: 16 }, () => new Map());
for (const [w, n] of words) {
  const ck = JSON.stringify(w);
  parts[core.partitionOf(ck, 16, 0)].set(ck, n);
}
if (mode === 'sorted') parts = parts.map((m) => new Map([...m].sort((a, b) => (a[0] < b[0] ? -1 : 1))));
const dir = `/tmp/mrm-state-puts-${process.pid}`;
rmSync(dir, { recursive: true, force: true });
const store = await LmdbStateStore.open({ path: dir });
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const t = cpu();
for (let v = 1; v <= 3; v++) {
  await Promise.all(
    parts.map((changes, p) => store.writePartition({ job: 'wc', partition: p, version: v, changes, batches: [] })),
  );
  for (const m of parts) for (const [k, n] of m) m.set(k, n + 1);
}
const elapsed = cpu() - t;
await store.close();
const size = statSync(`${dir}/data.mdb`).size;
console.log(
  mode,
  words.size,
  'keys, 3 versions, cpu',
  elapsed.toFixed(3),
  's, data.mdb',
  (size / 1e6).toFixed(1),
  'MB',
);
rmSync(dir, { recursive: true, force: true });
