#!/usr/bin/env node
/**
 * Issue 6's acceptance test at full scale: a word count of `--size-mb` MB of Gutenberg books on a
 * real cluster (one nats-server, a leading and a standby coordinator, 2 map and 3 merge workers,
 * each its own `mrm` process) while a random process is killed with SIGKILL on its own pid every
 * `--kill-every-ms` to twice that. A dead merge worker is replaced by a process with a NEW id and
 * an EMPTY state folder (dead ids never come back); a dead map worker is restarted under its id on
 * its folder; a dead leading coordinator is restarted on a new, empty folder (it stands by: the waiting
 * standby takes the lead). The submitting client (`mrm submit --wait`) is never killed.
 *
 * Once the job is done, `mrm query --nats` of its result is compared key for key with `mrm run`
 * of the same input embedded (the reference is computed once per input, cached under
 * /tmp/mrm-chaos-ref). Per round it prints kills by role, job seconds and equal or not; on a
 * failed job or a difference, the tails of every process's log (all logs stay in the run folder).
 *
 * ```sh
 * npx tsc -b && nice -n 19 node scripts/chaos/wordcount-kill-loop.mjs --size-mb 64 --rounds 3
 * ```
 * Options: --size-mb <n> (default 64), --kill-every-ms <n> (default 1000), --seed <n> (default
 * the time), --rounds <n> (default 1), --keep (keep the run folder), --heartbeat-timeout <ms>
 * and --leader-lease <ms> (the coordinators'; default their own), --max-kills <n> (stop killing after n kills, then let the
 * job finish; default: kill until it is done), --checkpoint-every <batches> and --batch-size
 * <lines> (passed to `mrm submit`). Exit code 0 only when every round was equal.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = new URL('../../', import.meta.url).pathname;
const MRM_BIN = join(ROOT, 'packages/cli/bin/mrm.js');
const JOB = join(ROOT, 'examples/wordcount/job.ts');
const BENCH_DATA = '/tmp/mrm-bench-data';
const GUTENBERG = '/work/shared/data/gutenberg';
const REFERENCE_CACHE = join(tmpdir(), 'mrm-chaos-ref');

const { values: opts } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '64' },
    'kill-every-ms': { type: 'string', default: '1000' },
    seed: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
    'heartbeat-timeout': { type: 'string' },
    'max-kills': { type: 'string' },
    'leader-lease': { type: 'string' },
    'checkpoint-every': { type: 'string' },
    'batch-size': { type: 'string' },
  },
});
const SIZE_MB = Number(opts['size-mb']);
const KILL_EVERY_MS = Number(opts['kill-every-ms']);
const ROUNDS = Number(opts.rounds);
const MAX_KILLS = opts['max-kills'] === undefined ? Number.POSITIVE_INFINITY : Number(opts['max-kills']);
const SUBMIT_OPTIONS = [
  ...(opts['checkpoint-every'] ? ['--checkpoint-every', opts['checkpoint-every']] : []),
  ...(opts['batch-size'] ? ['--batch-size', opts['batch-size']] : []),
];
let seed = Number(opts.seed ?? Date.now() % 1_000_000);
const firstSeed = seed;

/** Deterministic random in [0, 1) (mulberry32), so a failing round can be replayed with --seed. */
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (xs) => xs[Math.floor(random() * xs.length)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Input files of about `sizeMb` MB: whole 8 MB parts of the 64 MB replica when that is enough,
 * else 64 MB parts of the 515 MB one (both are the Gutenberg books replicated, see
 * docs/benchmarks.md); falls back to the books themselves for small sizes when neither exists.
 */
function inputFiles(sizeMb) {
  const parts = (dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.txt'))
      .sort()
      .map((f) => join(dir, f));
  const candidates = readdirSync(BENCH_DATA)
    .filter((d) => /-x\d+-f8$/.test(d))
    .map((d) => parts(join(BENCH_DATA, d)))
    .filter((fs) => fs.length > 0)
    .map((fs) => ({ fs, partMb: statSync(fs[0]).size / 2 ** 20 }))
    .sort((a, b) => a.partMb - b.partMb);
  for (const { fs, partMb } of candidates) {
    if (partMb * fs.length >= sizeMb * 0.9 || candidates.at(-1).fs === fs) {
      return fs.slice(0, Math.max(1, Math.min(fs.length, Math.round(sizeMb / partMb))));
    }
  }
  return parts(GUTENBERG);
}

/** A free loopback port. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** `mrm` commands under way (killed on Ctrl-C with the cluster). */
const clients = new Set();

/** Runs `mrm <args>` to completion; resolves { code, stdout, stderr }. */
function mrm(args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MRM_BIN, ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: cleanEnv(),
    });
    clients.add(child);
    child.once('exit', () => clients.delete(child));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? signal, stdout, stderr }));
  });
}

/** The environment without MRM_* variables (a developer's cluster settings must not leak in). */
function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MRM_')));
}

/** The single-process result of the input, computed once per input list and cached. */
async function reference(files) {
  const id = createHash('sha256')
    .update(JSON.stringify(files.map((f) => [f, statSync(f).size, statSync(f).mtimeMs])))
    .update(readFileSync(JOB))
    .digest('hex')
    .slice(0, 16);
  const out = join(REFERENCE_CACHE, `${id}.jsonl`);
  if (existsSync(out)) return out;
  mkdirSync(REFERENCE_CACHE, { recursive: true });
  const state = mkdtempSync(join(tmpdir(), 'mrm-chaos-ref-state-'));
  const started = Date.now();
  const r = await mrm(['run', JOB, '--input', ...files, '--state', state, '--out', `${out}.part`, '-q']);
  rmSync(state, { recursive: true, force: true });
  if (r.code !== 0) throw new Error(`the reference run failed (${r.code}): ${r.stderr}`);
  const { renameSync } = await import('node:fs');
  renameSync(`${out}.part`, out);
  log(`reference computed in ${((Date.now() - started) / 1000).toFixed(1)} s: ${out}`);
  return out;
}

function log(line) {
  process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** One cluster of real processes; every process logs to `<dir>/logs/<name>.log`. */
class Cluster {
  procs = new Map(); // name -> { name, role, stateDir, child, log, exited }
  natsUrl = '';
  nats = undefined;

  constructor(dir) {
    this.dir = dir;
    mkdirSync(join(dir, 'logs'), { recursive: true });
  }

  async startNats() {
    const port = await freePort();
    const store = join(this.dir, 'nats');
    mkdirSync(store, { recursive: true });
    const fd = openSync(join(this.dir, 'logs', 'nats-server.log'), 'a');
    this.nats = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store], {
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    this.natsUrl = `nats://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise((resolve) => {
        const s = createServer();
        s.once('error', () => resolve(true));
        s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
      });
      if (ok) return;
      await sleep(100);
    }
    throw new Error('nats-server did not listen');
  }

  spawn(name, role, args) {
    const stateDir = join(this.dir, 'procs', name);
    const logPath = join(this.dir, 'logs', `${name}.log`);
    const fd = openSync(logPath, 'a');
    const child = spawn(process.execPath, [MRM_BIN, ...args, '--state', stateDir], {
      stdio: ['ignore', fd, fd],
      env: cleanEnv(),
    });
    closeSync(fd);
    const p = { name, role, stateDir, child, logPath, startedAt: readLog(logPath).length };
    p.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.procs.set(name, p);
    return p;
  }

  /** Resolves once the log of `p` (since its start) matches `pattern`. */
  async waitFor(p, pattern, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (pattern.test(readLog(p.logPath).slice(p.startedAt))) return;
      if (p.child.exitCode !== null || p.child.signalCode !== null)
        throw new Error(`${p.name} exited before ${pattern}`);
      await sleep(100);
    }
    throw new Error(`${p.name} did not print ${pattern} within ${timeoutMs} ms`);
  }

  coordinator(name) {
    const hb = opts['heartbeat-timeout'] ? ['--heartbeat-timeout', opts['heartbeat-timeout']] : [];
    const lease = opts['leader-lease'] ? ['--leader-lease', opts['leader-lease']] : [];
    return this.spawn(name, 'coordinator', ['coordinator', '--nats', this.natsUrl, ...hb, ...lease]);
  }

  worker(role, id) {
    const threads = role === 'map' ? ['--threads', '1'] : [];
    return this.spawn(id, role, ['worker', '--role', role, '--id', id, '--nats', this.natsUrl, ...threads]);
  }

  live(role) {
    return [...this.procs.values()].filter(
      (p) => p.role === role && p.child.exitCode === null && p.child.signalCode === null,
    );
  }

  /** The coordinator that leads now: alive and said so since its start (a standby says "leading"). */
  leader() {
    return this.live('coordinator').find(
      (p) =>
        readLog(p.logPath)
          .slice(p.startedAt)
          .match(/coordinator ready|standing by/g)
          ?.at(-1) === 'coordinator ready',
    );
  }

  /** SIGKILL to the process's own pid; resolves once it is gone. */
  async kill(p) {
    process.kill(p.child.pid, 'SIGKILL');
    const { signal } = await p.exited;
    if (signal !== 'SIGKILL') throw new Error(`${p.name} ended by ${signal}, not SIGKILL`);
  }

  tails(lines = 25) {
    return [...this.procs.values(), { name: 'nats-server', logPath: join(this.dir, 'logs', 'nats-server.log') }]
      .map((p) => `--- ${p.name}\n${readLog(p.logPath).split('\n').slice(-lines).join('\n')}`)
      .join('\n');
  }

  async stop() {
    for (const p of this.procs.values()) {
      try {
        process.kill(p.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await Promise.all([...this.procs.values()].map((p) => p.exited));
    this.nats?.kill('SIGKILL');
  }
}

function readLog(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The first line where two result files differ, or undefined when they are equal (and not empty). */
function firstDifference(actualPath, expectedPath) {
  const a = readFileSync(actualPath, 'utf8').split('\n');
  const e = readFileSync(expectedPath, 'utf8').split('\n');
  if (e.length < 2) return `${expectedPath} is empty`;
  const i = a.findIndex((line, n) => line !== e[n]);
  const at = i >= 0 ? i : a.length < e.length ? a.length : -1;
  if (at < 0) return undefined;
  return `line ${at + 1} (${a.length} vs ${e.length} lines): ${JSON.stringify(a[at])} vs ${JSON.stringify(e[at])}`;
}

let current;
process.on('SIGINT', async () => {
  for (const child of clients) child.kill('SIGKILL');
  await current?.stop();
  process.exit(130);
});

async function round(n, files, referencePath) {
  const dir = mkdtempSync(join(tmpdir(), 'mrm-chaos-'));
  const c = new Cluster(dir);
  current = c;
  const kills = { map: 0, merge: 0, coordinator: 0 };
  let result;
  try {
    await c.startNats();
    const leader = c.coordinator('coordinator-1');
    await c.waitFor(leader, /coordinator ready/);
    const standby = c.coordinator('coordinator-2');
    await c.waitFor(standby, /standing by|coordinator ready/);
    const workers = [
      ...['map-1', 'map-2'].map((id) => c.worker('map', id)),
      ...['merge-1', 'merge-2', 'merge-3'].map((id) => c.worker('merge', id)),
    ];
    await Promise.all(workers.map((w) => c.waitFor(w, /worker ready/)));
    const out = join(dir, 'submit-out.jsonl');
    const started = Date.now();
    let finished = false;
    const submit = mrm(
      ['submit', JOB, '--input', ...files, '--wait', '--out', out, '--nats', c.natsUrl, ...SUBMIT_OPTIONS],
      dir,
    ).finally(() => {
      finished = true;
    });
    let nextMerge = 4;
    let coordinators = 2;
    while (!finished && kills.map + kills.merge + kills.coordinator < MAX_KILLS) {
      await sleep(KILL_EVERY_MS + Math.floor(random() * KILL_EVERY_MS));
      if (finished) break;
      const role = pick(['map', 'merge', 'coordinator']);
      if (role === 'coordinator') {
        const lead = c.leader();
        if (lead === undefined) continue; // a takeover is under way: nobody leads to kill
        await c.kill(lead);
        kills.coordinator++;
        // Restarted (a new name, so its log starts fresh) on a new, empty folder: it stands by now.
        c.coordinator(`coordinator-${++coordinators}`);
      } else {
        const live = c.live(role);
        if (live.length === 0) continue;
        const victim = pick(live);
        await c.kill(victim);
        kills[role]++;
        if (role === 'merge') c.worker('merge', `merge-${nextMerge++}`);
        else c.worker('map', victim.name);
      }
    }
    const r = await submit;
    const seconds = (Date.now() - started) / 1000;
    let equal = false;
    let why = '';
    if (r.code !== 0) {
      why = `submit exited ${r.code}: ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`;
    } else {
      const queried = join(dir, 'query.jsonl');
      const q = await mrm(['query', '--nats', c.natsUrl, '--job', 'wordcount', '--out', queried], dir);
      if (q.code !== 0) {
        // A merge worker killed after the job's last commit still owns its partitions (they move at
        // the job's next run): say whether what `submit --wait` wrote was right all the same.
        const submitted = firstDifference(out, referencePath);
        why = `query exited ${q.code}: ${q.stderr.trim()}; the result submit --wait wrote: ${submitted === undefined ? 'equal' : `differs at ${submitted}`}`;
      } else {
        const d = firstDifference(queried, referencePath) ?? firstDifference(out, referencePath);
        if (d === undefined) equal = true;
        else why = `differs at ${d}`;
      }
    }
    result = { round: n, kills, seconds, equal, why };
    log(
      `round ${n}: kills map=${kills.map} merge=${kills.merge} coordinator=${kills.coordinator}; ` +
        `job ${seconds.toFixed(1)} s; ${equal ? 'EQUAL' : `NOT EQUAL: ${why}`}; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    );
    if (!equal) log(`logs (${dir}/logs):\n${c.tails()}`);
  } finally {
    await c.stop();
    if (!opts.keep && result?.equal) rmSync(dir, { recursive: true, force: true });
    else log(`run folder kept: ${dir}`);
  }
  return result;
}

const files = inputFiles(SIZE_MB);
const mb = files.reduce((s, f) => s + statSync(f).size, 0) / 2 ** 20;
log(
  `input: ${files.length} files, ${mb.toFixed(0)} MB; seed ${firstSeed}; kill every ${KILL_EVERY_MS}-${2 * KILL_EVERY_MS} ms`,
);
const referencePath = await reference(files);
const results = [];
for (let n = 1; n <= ROUNDS; n++) results.push(await round(n, files, referencePath));
const bad = results.filter((r) => !r.equal).length;
log(`${results.length - bad}/${results.length} rounds equal`);
process.exit(bad === 0 ? 0 : 1);
