// In one process: PartitionMerger.mergeBatch of the same 8 batches (word count of the suite's part-00.txt,
// on a MemoryStateStore) with two or more builds, alternating, 12 passes each; min and median CPU ms.
// Robust on a loaded machine (the min); needs --expose-gc:
//   node --expose-gc scripts/perf/merge-ab.mjs /work/wt/base/packages /work/wt/new/packages
import { readFileSync } from 'node:fs';

const builds = process.argv.slice(2);
const core = await import(`${builds[0]}/core/dist/index.js`);
const text = readFileSync('/tmp/mrm-bench-data/14fa82696b43a8fb-x4-f8/part-00.txt', 'utf8');
const words = text.match(/[A-Za-z]+/g);
const job = core.resolveJob({ name: 'wc', map() {}, ...core.aggregates.sum() });
// 8 batches: each batch's distinct words (canonical) with their counts, as frames carry them
const batches = [];
const per = Math.ceil(words.length / 8);
for (let b = 0; b < 8; b++) {
  const m = new Map();
  for (const w of words.slice(b * per, (b + 1) * per)) {
    const k = JSON.stringify(w);
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  batches.push([...m].flat());
}
const mods = await Promise.all(
  builds.map(async (r) => ({
    r,
    pm: await import(`${r}/merge-worker/dist/partition-merger.js`),
    vb: await import(`${r}/merge-worker/dist/value-buffer.js`),
    mem: await import(`${r}/core/dist/index.js`),
  })),
);
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};
const times = builds.map(() => []);
for (let rep = 0; rep < 12; rep++)
  for (let i = 0; i < mods.length; i++) {
    const j = rep % 2 ? mods.length - 1 - i : i;
    const { pm, vb, mem } = mods[j];
    const { MemoryStateStore } = await import(`${mods[j].r}/runtime/dist/index.js`);
    const store = new MemoryStateStore();
    const merger = await pm.PartitionMerger.open({ store, jobName: 'wc', job, partition: 0 });
    const bufs = batches.map((pairs) => {
      const b = new vb.ValueBuffer(job);
      b.addPairs(pairs);
      return b;
    });
    global.gc?.();
    const t = cpu();
    for (let b = 0; b < bufs.length; b++) await merger.mergeBatch(`b${b}`, bufs[b]);
    times[j].push(cpu() - t);
  }
for (let j = 0; j < mods.length; j++) {
  const s = times[j].sort((a, b) => a - b);
  console.log(builds[j], 'min', s[0].toFixed(1), 'median', s[6].toFixed(1), 'ms');
}
