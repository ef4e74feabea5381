// Single-thread CPU of the map side (collect, finish) against the plain loop on one file.
// node scripts/perf/map-side.mjs <file.txt> [batchLines=50000] [all|loop|collect|collect+finish]
// --packages=<other checkout>/packages (last) measures another build.
import { readFileSync } from 'node:fs';

const root =
  process.argv.find((a) => a.startsWith('--packages='))?.slice(11) ??
  new URL('../../packages', import.meta.url).pathname;
const { BatchCollector } = await import(`${root}/map-worker/dist/index.js`);
const kt = await import(`${root}/map-worker/dist/key-table.js`).catch(() => undefined);
const newCollector = (job) => (kt ? new BatchCollector(job, kt.acquireKeyTable(job)) : new BatchCollector(job));
const { forEachRecord } = await import(`${root}/input/dist/index.js`);
const { resolveJob, aggregates } = await import(`${root}/core/dist/index.js`);
const file = process.argv[2];
const batchLines = +(process.argv[3] ?? 50000);
const text = readFileSync(file, 'utf8');
const WORD = /[A-Za-z]+/g;
const job = resolveJob({
  name: 'wc',
  map(line, emit) {
    for (const w of line.match(WORD) ?? []) emit(w, 1);
  },
  ...aggregates.sum(),
});
const lines = text.split('\n');
const batches = [];
for (let i = 0; i < lines.length; i += batchLines) batches.push(lines.slice(i, i + batchLines).join('\n'));
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
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
    const c = newCollector(job);
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
