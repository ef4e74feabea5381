#!/usr/bin/env node
/**
 * `npm run test:compose`: runs docker-compose.yml for real on this machine's Docker engine.
 *
 * 1. Base images: the official ones when Docker has them, else stand-ins built here
 *    (scripts/docker/stand-in-images.sh: debootstrap'ed Debian with this machine's Node 20 and
 *    nats-server, cached by tag). The output says which images were stand-ins.
 * 2. `compose up -d --build --scale map=2 --scale merge=2` under a project of its own, NATS
 *    published on a free loopback port.
 * 3. A job submitted from the host CLI (`mrm submit --wait --out`) gives exactly what `mrm run`
 *    gives on the same input.
 * 4. A second job: a merge worker's container crashes mid-job (SIGKILL to its process); the
 *    restart policy brings it back (checked: its restart count goes up) and the job ends with the same exact
 *    result — on its own if the cluster survives the loss, else by submitting again, as
 *    docs/operations.md says. The output says which of the two happened.
 * 5. `compose down -v` leaves no container, network or volume of the project.
 *
 * Without a working Docker it fails, unless outside CI (CI unset), where it says so and exits 0.
 * Environment: MRM_COMPOSE (the compose command, default `docker-compose`, else `docker compose`),
 * MRM_NODE_IMAGE / MRM_NATS_IMAGE (base images to use instead).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MRM = join(ROOT, 'packages/cli/bin/mrm.js');
const INPUT = process.env.MRM_COMPOSE_INPUT ?? '/work/shared/data/logs/apache-elastic/apache_logs';
const JOB = join(ROOT, 'examples/access-logs/bytes-per-client.ts');
/** Small batches and frequent versions: a job long enough to kill a worker in the middle of. */
const JOB_FLAGS = ['--batch-size', '50', '--checkpoint-every', '5'];
/** Job 2 runs five times as many batches, so that a worker can be killed while it runs (a CI run saw 200 batches end within one status poll). */
const KILL_JOB_FLAGS = ['--batch-size', '10', '--checkpoint-every', '5'];
const OFFICIAL = { node: 'node:20-slim', nats: 'nats:2.10' };
const READY_TIMEOUT_MS = 180_000;
const JOB_TIMEOUT_MS = 240_000;

const run = promisify(execFile);
const started = Date.now();
const log = (line) => process.stderr.write(`[compose-test ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs a command; resolves with its stdout, rejects with one line naming it and its stderr tail. */
async function sh(command, args, options = {}) {
  try {
    const { stdout } = await run(command, args, { cwd: ROOT, maxBuffer: 64 << 20, ...options });
    return stdout;
  } catch (e) {
    const tail = String(e.stderr ?? '')
      .trim()
      .split('\n')
      .slice(-5)
      .join(' | ');
    throw new Error(`\`${command} ${args.join(' ')}\` failed (exit ${e.code}): ${tail || e.message}`);
  }
}

/** Runs a command with its output shown (long steps: image builds). */
function shLoud(command, args, env, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`\`${command} ${args.join(' ')}\` failed (exit ${code})`)),
    );
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function dockerWorks() {
  try {
    await sh('docker', ['info', '--format', '{{.ServerVersion}}']);
    return true;
  } catch (e) {
    return e.message;
  }
}

async function composeCommand() {
  if (process.env.MRM_COMPOSE) {
    const [cmd, ...args] = process.env.MRM_COMPOSE.split(' ');
    return [cmd, args];
  }
  try {
    await sh('docker-compose', ['version']);
    return ['docker-compose', []];
  } catch {
    return ['docker', ['compose']];
  }
}

const hasImage = (tag) =>
  sh('docker', ['image', 'inspect', tag]).then(
    () => true,
    () => false,
  );

/** The base images: given, official when present, else stand-ins (built once, then cached). */
async function baseImages() {
  const chosen = { node: process.env.MRM_NODE_IMAGE, nats: process.env.MRM_NATS_IMAGE };
  const standIns = [];
  if ((!chosen.node && !(await hasImage(OFFICIAL.node))) || (!chosen.nats && !(await hasImage(OFFICIAL.nats)))) {
    log('official base images not available here: building stand-ins (cached after the first run)');
    const out = await sh(join(ROOT, 'scripts/docker/stand-in-images.sh'), [], { stdio: ['ignore', 'pipe', 'inherit'] });
    const built = Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((l) => l.split('=')),
    );
    if (!chosen.node && !(await hasImage(OFFICIAL.node))) {
      chosen.node = built.MRM_NODE_IMAGE;
      standIns.push(`${chosen.node} (stands in for ${OFFICIAL.node})`);
    }
    if (!chosen.nats && !(await hasImage(OFFICIAL.nats))) {
      chosen.nats = built.MRM_NATS_IMAGE;
      standIns.push(`${chosen.nats} (stands in for ${OFFICIAL.nats})`);
    }
  }
  return { node: chosen.node ?? OFFICIAL.node, nats: chosen.nats ?? OFFICIAL.nats, standIns };
}

/** `mrm <args>` on the host; resolves with stdout. */
const mrm = (args, env) => sh(process.execPath, [MRM, ...args], { env: { ...process.env, ...env } });

async function statusJson(url, jobId) {
  return JSON.parse(await mrm(['status', ...(jobId ? [jobId] : []), '--json', '--nats', url]));
}

/** `mrm submit --wait --out <out>` of a job on the test input. */
const submitAndWait = (url, job, out) =>
  mrm([
    'submit',
    job,
    '--input',
    INPUT,
    ...JOB_FLAGS,
    '--nats',
    url,
    '--wait',
    '--out',
    out,
    '--timeout',
    String(JOB_TIMEOUT_MS),
  ]);

/** Waits until NATS answers and 2 map + 2 merge workers are alive. */
async function waitForCluster(url) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    try {
      const { workers } = await statusJson(url);
      const alive = (role) => workers.filter((w) => w.role === role && w.alive).length;
      if (alive('map') >= 2 && alive('merge') >= 2) return workers;
      last = `${alive('map')} map and ${alive('merge')} merge workers alive`;
    } catch (e) {
      last = e.message;
    }
    await sleep(1000);
  }
  throw new Error(`the cluster was not ready within ${READY_TIMEOUT_MS / 1000} s: ${last}`);
}

/** Polls a job until it has finished; returns its final status. */
async function waitForJob(url, jobId) {
  const deadline = Date.now() + JOB_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const s = await statusJson(url, jobId).catch(() => undefined);
    if (s?.state === 'succeeded' || s?.state === 'failed') return s;
    await sleep(500);
  }
  throw new Error(`job ${jobId} did not finish within ${JOB_TIMEOUT_MS / 1000} s`);
}

async function main() {
  const docker = await dockerWorks();
  if (docker !== true) {
    if (process.env.CI) throw new Error(`Docker does not work here (${docker})`);
    log(`SKIPPED: Docker does not work here (${docker}); .ci/run (CI=true) fails instead`);
    return;
  }
  const [composeCmd, composeArgs] = await composeCommand();
  const images = await baseImages();
  const project = `mrmtest${process.pid}`;
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    COMPOSE_PROJECT_NAME: project,
    MRM_NATS_PORT: String(port),
    MRM_NODE_IMAGE: images.node,
    MRM_NATS_IMAGE: images.nats,
    MRM_IMAGE: 'mrm:compose-test',
  };
  // The classic builder when the docker CLI has no BuildKit plugin (docker.io 20.10's own CLI has none).
  if (
    !(await sh('docker', ['buildx', 'version']).then(
      () => true,
      () => false,
    ))
  )
    env.DOCKER_BUILDKIT = '0';
  const work = mkdtempSync(join(tmpdir(), 'mrm-compose-'));
  // Compose runs on a snapshot of the repository (the files git would see: tracked and new, not
  // ignored), so that an edit made while the test runs cannot change the image half-way.
  const context = join(work, 'repo');
  await sh('sh', [
    '-c',
    `mkdir -p "${context}" && git ls-files -z -co --exclude-standard | tar -c --null -T - --ignore-failed-read | tar -x -C "${context}"`,
  ]);
  const compose = (...args) => sh(composeCmd, [...composeArgs, '-p', project, ...args], { env, cwd: context });
  log(`compose: ${[composeCmd, ...composeArgs].join(' ')}; project ${project}; NATS at ${url}`);
  log(`base images: node ${images.node}, nats ${images.nats}`);
  log(images.standIns.length > 0 ? `stand-ins: ${images.standIns.join('; ')}` : 'stand-ins: none (official images)');
  let outcome = '';
  try {
    log('building the image and starting NATS, the coordinator, 2 map and 2 merge workers');
    await shLoud(composeCmd, [...composeArgs, '-p', project, 'build', '--force-rm'], env, context);
    await compose('up', '-d', '--scale', 'map=2', '--scale', 'merge=2');
    const published = (await compose('port', 'nats', '4222')).trim();
    if (published !== `127.0.0.1:${port}`) throw new Error(`NATS is published on ${published}, not on loopback only`);
    const workers = await waitForCluster(url);
    log(`cluster ready: ${workers.map((w) => w.workerId).join(', ')}`);

    log('reference: mrm run (embedded) on the same input');
    const reference = join(work, 'reference.jsonl');
    await mrm(['run', JOB, '--input', INPUT, '--state', join(work, 'embedded'), '--out', reference, '--quiet']);
    const expected = readFileSync(reference, 'utf8');
    if (expected.split('\n').length < 10) throw new Error('the reference result is suspiciously small');

    log('job 1: mrm submit --wait from the host to the published NATS port');
    const first = join(work, 'first.jsonl');
    await submitAndWait(url, JOB, first);
    if (readFileSync(first, 'utf8') !== expected) throw new Error('job 1: the cluster result differs from mrm run');
    log(`job 1: same result as mrm run (${expected.trim().split('\n').length} keys)`);
    // The cli service: in the cluster's network, this folder mounted read-only, result on stdout.
    const fromContainer = await compose('run', '--rm', '-T', 'cli', 'query', '--job', 'bytes-per-client');
    if (fromContainer !== expected) throw new Error('`compose run cli query` printed another result');
    log('`compose run --rm -T cli query` prints the same result (read-only mount, output on stdout)');

    log('job 2: a merge worker container is killed mid-job');
    const killJob = join(work, 'bytes-per-client-kill.ts');
    writeFileSync(
      killJob,
      `import job from ${JSON.stringify(JOB)};\nexport default { ...job, name: 'bytes-per-client-kill' };\n`,
    );
    const jobId = (await mrm(['submit', killJob, '--input', INPUT, ...KILL_JOB_FLAGS, '--nats', url]))
      .trim()
      .split('\n')[0];
    const victim = (
      await sh('docker', [
        'ps',
        '-q',
        '--filter',
        `label=com.docker.compose.project=${project}`,
        '--filter',
        'label=com.docker.compose.service=merge',
      ])
    )
      .trim()
      .split('\n')[0];
    const inspect = async (format) => (await sh('docker', ['inspect', '-f', format, victim])).trim();
    const before = Number(await inspect('{{.RestartCount}}'));
    for (;;) {
      const s = await statusJson(url, jobId);
      if (s.state === 'succeeded' || s.state === 'failed')
        throw new Error(`job 2 ended (${s.state}) before a worker could be killed: make it longer`);
      if ((s.progress?.mergedBatches ?? 0) >= 1) {
        log(
          `killing merge container ${victim.slice(0, 12)} at batch ${s.progress.mergedBatches}/${s.progress.totalBatches}`,
        );
        break;
      }
      await sleep(200);
    }
    // A crash: SIGKILL to the container's own process (its pid on this host). `docker kill` would
    // not do: Docker counts it as a manual stop and no restart policy restarts the container.
    const pid = Number(await inspect('{{.State.Pid}}'));
    process.kill(pid, 'SIGKILL');
    const killDeadline = Date.now() + 60_000;
    while (Number(await inspect('{{.RestartCount}}')) === before) {
      if (Date.now() > killDeadline)
        throw new Error('the killed merge container was not restarted by its restart policy');
      await sleep(500);
    }
    const newPid = Number(await inspect('{{.State.Pid}}'));
    if (newPid === pid) throw new Error(`merge worker pid ${pid} is still the same after the kill`);
    log(
      `pid ${pid} killed; the restart policy restarted the container (restart count ${before} → ${before + 1}, pid ${newPid})`,
    );
    const end = await waitForJob(url, jobId);
    const second = join(work, 'second.jsonl');
    if (end.state === 'succeeded') {
      outcome = 'the job survived the merge worker loss on its own';
      await mrm(['query', '--job', 'bytes-per-client-kill', '--nats', url, '--out', second]);
    } else {
      outcome = `the job failed on the loss (${end.error?.message}); submitted again as docs/operations.md says`;
      log(outcome);
      await waitForCluster(url);
      await submitAndWait(url, killJob, second);
    }
    if (readFileSync(second, 'utf8') !== expected)
      throw new Error('job 2: the result after the kill differs from mrm run');
    log(`job 2: same exact result as mrm run (${outcome})`);
  } catch (e) {
    // What the containers said, to see why without running it again.
    log('logs of the cluster (last lines per container):');
    await shLoud(composeCmd, [...composeArgs, '-p', project, 'logs', '--no-color', '--tail', '15'], env, context).catch(
      () => {},
    );
    throw e;
  } finally {
    log('compose down -v');
    await compose('down', '-v', '--remove-orphans').catch((e) => log(`down failed: ${e.message}`));
    rmSync(work, { recursive: true, force: true });
  }
  const label = `label=com.docker.compose.project=${project}`;
  const left = [
    ['containers', await sh('docker', ['ps', '-aq', '--filter', label])],
    ['networks', await sh('docker', ['network', 'ls', '-q', '--filter', label])],
    ['volumes', await sh('docker', ['volume', 'ls', '-q', '--filter', label])],
  ].filter(([, ids]) => ids.trim() !== '');
  if (left.length > 0)
    throw new Error(
      `compose down -v left ${left.map(([what, ids]) => `${what}: ${ids.trim().split('\n').join(' ')}`).join('; ')}`,
    );
  log('down -v left no container, network or volume');
  log(
    `PASSED in ${((Date.now() - started) / 1000).toFixed(0)} s; ${outcome}; stand-ins: ${images.standIns.length > 0 ? images.standIns.join('; ') : 'none'}`,
  );
}

main().catch((e) => {
  log(`FAILED: ${e.message}`);
  process.exitCode = 1;
});
