// CPU seconds, system seconds and minor page faults of reading the wordcount suite's 64.5 MB input's batches
// (100,000 lines) three times with readSplitBatches of one build (planned with the same build; reads only timed):
//   node scripts/perf/read-batches.mjs <checkout>/packages
import { readFileSync } from 'node:fs';

const root = process.argv[2];
const input = await import(`${root}/input/dist/index.js`);
const D = '/tmp/mrm-bench-data/14fa82696b43a8fb-x4-f8';
const stat = () => {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return { minflt: +f[7], cpu: (+f[11] + +f[12]) / 100 };
};
const splits = [];
for (let i = 0; i < 8; i++) {
  const path = `${D}/part-0${i}.txt`;
  const plan = await input.planSource(
    { path, displayPath: path, identity: path },
    { format: 'lines', batchLines: 100000 },
  );
  splits.push(...input.splitsOf(plan, splits.length));
}
const u0 = process.cpuUsage();
const s0 = stat();
let chars = 0;
for (let r = 0; r < 3; r++)
  for (const split of splits) for await (const b of input.readSplitBatches(split)) chars += b.text.length;
const u = process.cpuUsage(u0);
const s1 = stat();
console.log(
  root.split('/').slice(-3).join('/'),
  'batches',
  splits.length,
  'cpu',
  ((u.user + u.system) / 1e6).toFixed(3),
  'user',
  (u.user / 1e6).toFixed(3),
  'sys',
  (u.system / 1e6).toFixed(3),
  'minflt',
  s1.minflt - s0.minflt,
  'chars',
  chars,
);
