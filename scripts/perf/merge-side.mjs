// Single-thread CPU of the merge side (decode, buffer, reduce+merge, checkpoint) for one file, 8 times.
// node scripts/perf/merge-side.mjs <file.txt> [batchLines=50000]
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { wordcountProbe } from './wordcount-probe.mjs';

const { root, core, input, job, batches, newCollector, cpu } = await wordcountProbe();
const { forEachRecord } = input;
const { decodeMessage, framePairs } = core;
const mw = await import(`${root}/merge-worker/dist/partition-merger.js`);
const { ValueBuffer } = await import(`${root}/merge-worker/dist/value-buffer.js`);
const { LmdbStateStore } = await import(`${root}/store-lmdb/dist/index.js`);
const outs = batches.map((b) => {
  const c = newCollector();
  forEachRecord(b, 'lines', 1, 'x', (r) => job.map(r, c.emit, {}));
  return c.finish({ jobId: 'j', run: 1, seq: 0, attempt: 0, from: 'm' }, 16, 0, 512 * 1024);
});
rmSync(`${tmpdir()}/mrm-merge-side-store`, { recursive: true, force: true });
const store = await LmdbStateStore.open({ path: `${tmpdir()}/mrm-merge-side-store` });
const mergers = [];
for (let p = 0; p < 16; p++) mergers.push(await mw.PartitionMerger.open({ store, jobName: 'wc', job, partition: p }));
let tDecode = 0,
  tAdd = 0,
  tMerge = 0,
  tCk = 0;
let version = 0;
for (let rep = 0; rep < 8; rep++) {
  for (const out of outs) {
    for (const p of out) {
      let t = cpu();
      const lists = p.frames.map((f) => framePairs(decodeMessage(f)));
      tDecode += cpu() - t;
      t = cpu();
      const buf = new ValueBuffer(job);
      for (const list of lists) buf.addPairs(list);
      tAdd += cpu() - t;
      t = cpu();
      await mergers[p.partition].mergeBatch(`b${rep}`, buf);
      tMerge += cpu() - t;
    }
  }
  const t = cpu();
  version++;
  await Promise.all(mergers.map((m) => m.checkpoint(version)));
  tCk += cpu() - t;
}
console.log({
  batches: batches.length * 8,
  tDecode: tDecode.toFixed(3),
  tAdd: tAdd.toFixed(3),
  tMerge: tMerge.toFixed(3),
  tCheckpoint: tCk.toFixed(3),
});
await store.close();
