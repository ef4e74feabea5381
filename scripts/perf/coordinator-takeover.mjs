// How long after the leading coordinator's SIGKILL a standby leads (logs "leading") and is ready.
// Usage: npx tsc -b && node scripts/perf/coordinator-takeover.mjs [--leader-lease <ms>] [--rounds <n>]
// Each round: a fresh nats-server, a leader and a standby (`mrm coordinator`), SIGKILL the leader
// a few renewals after the standby stood by, time the standby's log lines. No workers, no job.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startNatsServer } from '../../packages/testkit/dist/index.js';

const { values } = parseArgs({ options: { 'leader-lease': { type: 'string' }, rounds: { type: 'string' } } });
const lease = values['leader-lease'] !== undefined ? ['--leader-lease', values['leader-lease']] : [];
const rounds = Number(values.rounds ?? 3);
const MRM = new URL('../../packages/cli/bin/mrm.js', import.meta.url).pathname;

/** A coordinator whose log lines resolve waiters. */
function coordinator(url, dir) {
  const child = spawn(process.execPath, [MRM, 'coordinator', '--nats', url, '--state', dir, ...lease], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const waiters = [];
  child.stderr.on('data', (d) => {
    log += d;
    for (const w of [...waiters]) w();
  });
  const until = (re) =>
    new Promise((resolve) => {
      const check = () => {
        if (!re.test(log)) return;
        waiters.splice(waiters.indexOf(check), 1);
        resolve(performance.now());
      };
      waiters.push(check);
      check();
    });
  return { child, until };
}

const results = [];
for (let i = 0; i < rounds; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'mrm-takeover-'));
  const nats = await startNatsServer({ jetstream: true });
  const leader = coordinator(nats.url, join(dir, 'a'));
  await leader.until(/coordinator ready/);
  const standby = coordinator(nats.url, join(dir, 'b'));
  await standby.until(/standing by/);
  await new Promise((r) => setTimeout(r, 2000)); // a few renewals
  const killedAt = performance.now();
  leader.child.kill('SIGKILL');
  const leadingAt = await standby.until(/ leading /);
  const readyAt = await standby.until(/coordinator ready/);
  results.push({ leadingMs: Math.round(leadingAt - killedAt), readyMs: Math.round(readyAt - killedAt) });
  standby.child.kill('SIGTERM');
  await new Promise((r) => standby.child.once('exit', r));
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ leaderLeaseMs: values['leader-lease'] ?? 'default (5000)', rounds: results }));
