// Where a batch's latency goes, stage by stage: starts a local 1+1 cluster (`mrm up`) whose
// processes stamp every stage of a batch's life (MRM_TRACE=1: core's trace.ts, debug lines in
// the cluster's logs), runs JOBS single-batch jobs of 1,000 records one after another (the
// latency suite's workload: `--checkpoint-every 1`, the lines-by-first-word count), then reads
// the stamps back and prints, per stage, the median ms after the batch's dispatch and after the
// stage before. BACKLOG=<n> also runs one job of n batches first and prints its versions/s.
// ROOT=<another checkout> measures that one's build (the build must have trace.ts). MRM_TRACE=0:
// no stamps (for a backlog's versions/s without the cost of logging them).
// Usage: npx tsc -b && JOBS=20 node scripts/perf/batch-trace.mjs
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = process.env.ROOT ?? fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const JOBS = Number(process.env.JOBS ?? 20);
const BACKLOG = Number(process.env.BACKLOG ?? 0);
const MRM = join(ROOT, 'packages/cli/bin/mrm.js');
const work = mkdtempSync(join(tmpdir(), 'mrm-batch-trace-'));
const dir = join(work, 'cluster');
const env = { ...process.env, MRM_TRACE: process.env.MRM_TRACE ?? '1' };
const mrm = (args) =>
  execFileSync(process.execPath, [MRM, ...args], {
    env,
    encoding: 'utf8',
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

const job = (name) => `export default {
  name: ${JSON.stringify(name)},
  map(line, emit) { emit(line.slice(0, line.indexOf(' ')), 1); },
  combine: (key, values) => values.reduce((a, b) => a + b, 0),
  reduce: (key, values) => values.reduce((a, b) => a + b, 0),
  merge: (key, prev, next) => (prev ?? 0) + next,
};
`;
function input(path, batches, salt) {
  let text = '';
  for (let i = 0; i < batches * 1000; i++) text += `k${i % 1000} ${salt} the quick brown fox jumps over the lazy dog\n`;
  writeFileSync(path, text);
}
function submit(name, batches) {
  const file = join(work, `${name}.js`);
  writeFileSync(file, job(name));
  const data = join(work, `${name}.txt`);
  input(data, batches, name);
  const started = Date.now();
  const out = mrm([
    'submit',
    file,
    '--input',
    data,
    '--wait',
    '--shared-fs',
    '--batch-size',
    '1000',
    '--checkpoint-every',
    '1',
    '--nats',
    url,
  ]);
  void out;
  return Date.now() - started;
}

const upOut = execFileSync(process.execPath, [MRM, 'up', '--maps', '1', '--merges', '1', '--dir', dir], {
  env,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'pipe'],
});
const url = /MRM_NATS_URL=(\S+)/.exec(upOut)?.[1];
if (url === undefined) throw new Error(`mrm up printed no MRM_NATS_URL: ${upOut}`);
try {
  if (BACKLOG > 0) {
    const ms = submit('backlog', BACKLOG);
    console.log(
      `backlog: ${BACKLOG} batches in ${ms} ms (submit to done): ${((BACKLOG * 1000) / ms).toFixed(1)} versions/s`,
    );
  }
  for (let i = 0; i < JOBS; i++) submit(`single-${i}`, 1);
} finally {
  execFileSync(process.execPath, [MRM, 'down', '--dir', dir], { env, stdio: 'ignore' });
}

// Stamps: `… debug trace stage=<s> atMs=<t> jobId=<j> …` in every process's log.
const stamps = new Map(); // jobId -> Map(stage -> [atMs...])
for (const f of readdirSync(join(dir, 'logs'))) {
  for (const line of readFileSync(join(dir, 'logs', f), 'utf8').split('\n')) {
    if (!line.includes(' debug trace ')) continue;
    const field = (name) => new RegExp(` ${name}=(\\S+)`).exec(line)?.[1];
    const [stage, at, jobId] = [field('stage'), field('atMs'), field('jobId')];
    if (stage === undefined || at === undefined || jobId === undefined) continue;
    const byStage = stamps.get(jobId) ?? new Map();
    stamps.set(jobId, byStage);
    byStage.set(stage, [...(byStage.get(stage) ?? []), Number(at)]);
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};
// Per stage: its first stamp (`:first`) and last (`:last`) when a stage stamps once per partition.
const rows = new Map();
for (const [jobId, byStage] of stamps) {
  if (!jobId.includes('single-')) continue;
  const t0 = byStage.get('coord.dispatch')?.[0];
  if (t0 === undefined) continue;
  for (const [stage, ts] of byStage) {
    const keys =
      ts.length > 1
        ? [
            [`${stage}:first`, Math.min(...ts)],
            [`${stage}:last`, Math.max(...ts)],
          ]
        : [[stage, ts[0]]];
    for (const [k, t] of keys) rows.set(k, [...(rows.get(k) ?? []), t - t0]);
  }
}
const ordered = [...rows].map(([k, xs]) => [k, median(xs), xs.length]).sort((a, b) => a[1] - b[1]);
let prev = 0;
console.log(`stage medians over ${JOBS} single-batch jobs (ms after dispatch; +ms after the row before)`);
for (const [k, m, n] of ordered) {
  console.log(`${k.padEnd(34)} ${m.toFixed(2).padStart(8)}  +${(m - prev).toFixed(2).padStart(6)}  (n=${n})`);
  prev = m;
}
if (process.env.KEEP === undefined) rmSync(work, { recursive: true, force: true });
else console.log(`kept ${work}`);
