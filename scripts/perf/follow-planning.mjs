// Planning a followed file after one appended line: re-hashing every batch (full) against
// trusting the batches planned before (append-only). Usage: npx tsc -b && node scripts/perf/follow-planning.mjs

import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planSource } from '../../packages/input/dist/index.js';

const file = join(tmpdir(), `mrm-follow-planning-${process.pid}.log`);
const books = fs
  .readdirSync(new URL('../../examples/wordcount/data', import.meta.url).pathname)
  .map((f) => fs.readFileSync(new URL(`../../examples/wordcount/data/${f}`, import.meta.url).pathname));
const one = Buffer.concat(books);
fs.writeFileSync(file, '');
while (fs.statSync(file).size < 200e6) fs.appendFileSync(file, one);
const src = (appendOnly) => ({ path: file, displayPath: 'f', gzip: false, size: fs.statSync(file).size, appendOnly });
let prev = await planSource(src(false), { format: 'lines', batchLines: 50000 });
const time = async (appendOnly) => {
  fs.appendFileSync(file, 'one more line\n');
  const t = performance.now();
  const p = await planSource(src(appendOnly), { format: 'lines', batchLines: 50000, previous: prev });
  const ms = performance.now() - t;
  prev = p;
  return ms;
};
const full = [],
  ao = [];
for (let i = 0; i < 3; i++) {
  full.push(await time(false));
  ao.push(await time(true));
}
console.log(
  JSON.stringify({
    sizeMB: (fs.statSync(file).size / 1e6).toFixed(0),
    fullMs: full.map(Math.round),
    appendOnlyMs: ao.map((x) => x.toFixed(1)),
  }),
);
fs.rmSync(file);
