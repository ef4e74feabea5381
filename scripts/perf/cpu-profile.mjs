// Preload that writes a V8 CPU profile of a process's main thread (NODE_OPTIONS refuses
// --cpu-prof, but takes --import), for every process that loads it and whose command line holds
// MRM_PROF_MATCH (e.g. `--role merge`):
//   MRM_PROF_MATCH='--role merge' MRM_PROF_DIR=/tmp/prof \
//     NODE_OPTIONS="--import $PWD/scripts/perf/cpu-profile.mjs" node benchmarks/dist/main.js push --quick
// The profile is written to MRM_PROF_DIR/<pid>.cpuprofile when the process exits (SIGTERM from
// `mrm down` included), one per thread (<pid>-<threadId>); `node scripts/perf/cpu-profile.mjs <file>
// [rows] [function]` prints self time by function, only between the first and the last sample
// under `function` when it is given (e.g. `onData`: the push window of a merge worker).
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { threadId } from 'node:worker_threads';

const match = process.env.MRM_PROF_MATCH;
const dir = process.env.MRM_PROF_DIR ?? '/tmp';
const argv = process.argv.slice(1).join(' ');

if (process.argv[1]?.endsWith('cpu-profile.mjs') && process.argv[2] !== undefined) {
  summarise(process.argv[2]);
} else if (match !== undefined && argv.includes(match)) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    // A session on the process's own thread answers synchronously.
    session.post('Profiler.stop', (error, result) => {
      if (error === null) writeFileSync(`${dir}/${process.pid}-${threadId}.cpuprofile`, JSON.stringify(result.profile));
    });
  };
  process.on('exit', write);
  process.prependListener('SIGTERM', write);
}

/** Prints the top functions by self time of a .cpuprofile. */
function summarise(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const under = (id, name) => {
    for (let at = id; at !== undefined; at = parent.get(at))
      if (byId.get(at).callFrame.functionName === name) return true;
    return false;
  };
  const within = process.argv[4];
  let from = 0;
  let to = profile.samples.length - 1;
  if (within !== undefined) {
    from = profile.samples.findIndex((id) => under(id, within));
    for (to = profile.samples.length - 1; to > from && !under(profile.samples[to], within); to--);
    let us = 0;
    for (let i = from + 1; i <= to; i++) us += profile.timeDeltas[i];
    console.log(`window under ${within}: ${(us / 1e6).toFixed(2)} s`);
  }
  const dt = new Map();
  const inclusive = new Map();
  for (let i = from; i <= to; i++) {
    const id = profile.samples[i];
    const d = profile.timeDeltas[i + 1] ?? 0;
    dt.set(id, (dt.get(id) ?? 0) + d);
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const name = byId.get(at).callFrame.functionName;
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + d);
    }
  }
  const self = new Map();
  let total = 0;
  for (const [id, us] of dt) {
    const n = byId.get(id);
    const f = n.callFrame;
    const key = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[3] ?? 40));
  console.log(`total ${(total / 1e6).toFixed(2)} s`);
  for (const [k, us] of rows)
    console.log(`${(us / 1e3).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
  console.log('inclusive:');
  const top = [...inclusive].filter(([k]) => k !== '' && k !== '(root)').sort((a, b) => b[1] - a[1]);
  for (const [k, us] of top.slice(0, Number(process.argv[3] ?? 40)))
    console.log(`${(us / 1e3).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
}
