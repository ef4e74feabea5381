// Single-thread CPU of the map side (collect, finish) against the plain loop on one file.
// node scripts/perf/map-side.mjs <file.txt> [batchLines=50000] [all|loop|collect|collect+finish]
// --packages=<other checkout>/packages (last) measures another build.
import { wordcountProbe } from './wordcount-probe.mjs';

const { input, job, text, WORD, batches, newCollector, cpu } = await wordcountProbe();
const { forEachRecord } = input;
function loop() {
  const m = new Map();
  for (const line of text.split('\n')) for (const w of line.match(WORD) ?? []) m.set(w, (m.get(w) ?? 0) + 1);
  return m.size;
}
function mapOnly() {
  let n = 0;
  for (const b of batches)
    forEachRecord(b, 'lines', 1, 'x', (r) => {
      for (const _w of r.match(WORD) ?? []) n++;
    });
  return n;
}
let bytes = 0,
  frames = 0;
function mrm(finish = true) {
  for (const b of batches) {
    const c = newCollector();
    const emit = c.emit;
    forEachRecord(b, 'lines', 1, 'x', (r) => job.map(r, emit, {}));
    if (!finish) c.finish({ jobId: 'j', run: 1, seq: 0, attempt: 0, from: 'm' }, 16, 0, 512 * 1024);
    if (finish) {
      const out = c.finish({ jobId: 'j', run: 1, seq: 0, attempt: 0, from: 'm' }, 16, 0, 512 * 1024);
      for (const p of out)
        for (const f of p.frames) {
          bytes += f.byteLength;
          frames++;
        }
    }
  }
}
const which = process.argv[4] ?? 'all';
for (let rep = 0; rep < 3; rep++) {
  for (const [name, fn] of [
    ['loop', loop],
    ['mapOnly', mapOnly],
    ['collect', () => mrm(false)],
    ['collect+finish', () => mrm(true)],
  ]) {
    if (which !== 'all' && which !== name) continue;
    const t = cpu();
    fn();
    console.log(rep, name, (cpu() - t).toFixed(3));
  }
}
console.log('bytes/batch-run', bytes / 3, 'frames', frames / 3, 'batches', batches.length);
