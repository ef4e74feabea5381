// What an open run saves per micro-batch (decisions/0027): the real coordinator, map worker and two
// merge workers in this process (in-memory transport, in-memory store), SEGMENTS segments of LINES
// lines each, merged either as one run per segment (rounds, as before) or as one open run extended
// segment by segment. Rounds and open runs alternate (ROUNDS times each, on fresh roles), so load on
// a shared machine hits both alike; per contender: wall ms per segment and this process's CPU ms
// per segment (the CPU figure is what load does not inflate).
// node scripts/perf/open-run-vs-rounds.mjs [--segments=40] [--lines=2500] [--rounds=3]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const arg = (name, fallback) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const SEGMENTS = arg('segments', 40);
const LINES = arg('lines', 2500);
const ROUNDS = arg('rounds', 3);
const packages = resolve(new URL('../../packages', import.meta.url).pathname);
const { startMemoryRoles } = await import(`${packages}/cli/dist/index.js`);
const { aggregates, resolveJob } = await import(`${packages}/core/dist/index.js`);
const { expandInputs } = await import(`${packages}/input/dist/index.js`);

const job = resolveJob({
  name: 'wc',
  partitions: 8,
  map(line, emit) {
    for (const w of line.split(' ')) emit(w, 1);
  },
  ...aggregates.sum(),
});
const dir = mkdtempSync(join(tmpdir(), 'mrm-open-run-'));
const files = [];
for (let s = 0; s < SEGMENTS; s++) {
  const f = join(dir, `seg-${s}.txt`);
  writeFileSync(f, `${Array.from({ length: LINES }, (_, i) => `k${(i * 7 + s) % 1000} ${s}`).join('\n')}\n`);
  files.push((await expandInputs([f]))[0]);
}

const roles = () => startMemoryRoles(job);

const contenders = {
  rounds: async (r) => {
    for (const f of files) await r.request([f]);
  },
  'open run': async (r) => {
    await r.request([], async (run) => {
      const pending = files.map((f) => run.extend([f]));
      await Promise.all(pending);
    });
  },
};

const results = { rounds: [], 'open run': [] };
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? ['rounds', 'open run'] : ['open run', 'rounds'];
  for (const name of order) {
    const r = roles();
    const cpu = process.cpuUsage();
    const started = performance.now();
    await contenders[name](r);
    const { user, system } = process.cpuUsage(cpu);
    const latest = await r.store.latestVersion('wc');
    if (latest.records !== SEGMENTS * LINES) throw new Error(`${name}: ${latest.records} records merged`);
    results[name].push({ wallMs: performance.now() - started, cpuMs: (user + system) / 1000, hash: latest.hash });
    await r.close();
  }
}
rmSync(dir, { recursive: true, force: true });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const hashes = new Set(Object.values(results).flatMap((rs) => rs.map((x) => x.hash)));
for (const [name, rs] of Object.entries(results)) {
  console.log(
    `${name}: ${SEGMENTS} segments of ${LINES} lines, median per segment: wall ${(median(rs.map((x) => x.wallMs)) / SEGMENTS).toFixed(1)} ms, cpu ${(median(rs.map((x) => x.cpuMs)) / SEGMENTS).toFixed(1)} ms`,
  );
}
console.log(`state hashes: ${hashes.size === 1 ? 'all equal' : `DIFFER (${hashes.size})`}`);
