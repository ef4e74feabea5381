// Puts the --cpu-prof profiles of one process's threads on one clock: for each thread, when it started and
// ended and, for a few functions (planSource, runMapTask, mergeBatch, cutDigest, lmdb's writeInstructions,
// module compilation, GC, idle), the first and last sample under them and their self time:
//   node --cpu-prof --cpu-prof-dir=/tmp/prof packages/cli/bin/mrm.js run … && node scripts/perf/profile-timeline.mjs /tmp/prof/*.cpuprofile
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
const fns = [
  'planSource',
  'runMapTask',
  'mergeBatch',
  'cutDigest',
  'writeInstructions',
  'compileSourceTextModule',
  '(garbage collector)',
  '(idle)',
];
let t0 = Infinity;
const profs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')));
for (const p of profs) t0 = Math.min(t0, p.startTime);
for (const [i, p] of profs.entries()) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const under = new Map();
  const tagOf = (id) => {
    if (under.has(id)) return under.get(id);
    const n = byId.get(id);
    let r = fns.includes(n.callFrame.functionName) ? n.callFrame.functionName : undefined;
    if (r === undefined || r === 'writeInstructions') {
      const pr = parent.get(id);
      const up = pr === undefined ? undefined : tagOf(pr);
      if (up !== undefined) r = up;
    }
    under.set(id, r);
    return r;
  };
  let t = p.startTime;
  const span = new Map();
  const busy = [];
  for (let s = 0; s < p.samples.length; s++) {
    t += p.timeDeltas[s];
    const tag = tagOf(p.samples[s]) ?? 'other';
    const e = span.get(tag) ?? { first: t, last: t, ms: 0 };
    e.last = t;
    e.ms += p.timeDeltas[s] / 1000;
    span.set(tag, e);
  }
  console.log(`thread ${i}: ${((p.startTime - t0) / 1e6).toFixed(2)}–${((p.endTime - t0) / 1e6).toFixed(2)} s`);
  for (const [tag, e] of span)
    console.log(
      `  ${tag.padEnd(26)} ${((e.first - t0) / 1e6).toFixed(2)}–${((e.last - t0) / 1e6).toFixed(2)} s, ${e.ms.toFixed(0)} ms`,
    );
}
