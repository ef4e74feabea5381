/**
 * Killed and restarted processes in the middle of a job: a restarted nats-server (same port, same
 * JetStream store), a coordinator killed and started again, a map worker killed. Every process
 * that remains reconnects or takes over, unfinished work is dispatched again (a job whose only map
 * worker restarts runs on from its last committed version), and
 * `mrm submit --wait` still ends in success with the exact result.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from './cluster-harness.js';
import { surviveMidJob } from './cluster-scenarios.js';

describe('a cluster whose processes are killed or restarted mid-job', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('finishes a job under way with the exact result when nats-server restarts', async () => {
    const c = await TestCluster.start({ maps: 2, merges: 2 });
    cluster = c;
    const r = await surviveMidJob(c, () => c.nats.restart());
    const jobId = r.stdout.split('\n')[0] ?? '';
    const status = await c.jobStatus(jobId);
    expect(status.state).toBe('succeeded');
    expect(status.progress?.totalBatches).toBeGreaterThan(100);
    // Recovered by the reconnect handling (dispatch again once every worker is back), not by the
    // stall timer's 30 s.
    expect(c.coordinator.output()).toMatch(/reason=transport reconnected/);
    expect(c.coordinator.output()).not.toMatch(/reason=no progress/);
  });

  it('resumes a job under way when its coordinator is killed and started again, exactly once', async () => {
    const c = await TestCluster.start({ maps: 2, merges: 1, heartbeatTimeoutMs: 1500 });
    cluster = c;
    let restarted: Awaited<ReturnType<TestCluster['restartCoordinator']>> | undefined;
    await surviveMidJob(c, async () => {
      restarted = await c.restartCoordinator();
    }, ['--checkpoint-every', '5']);
    expect(restarted?.output()).toMatch(/resuming a job the previous coordinator did not finish/);
  });

  it('finishes a job exactly when a map worker is killed mid-way (its tasks go to the other)', async () => {
    const c = await TestCluster.start({ maps: 2, merges: 1, heartbeatTimeoutMs: 1500 });
    cluster = c;
    await surviveMidJob(c, () => c.process('map-1').kill());
    expect(c.coordinator.output()).toMatch(/worker lost .*worker=map-1/);
    if (process.env.T_LOG) console.error(c.coordinator.output());
  });

  it('goes on from its last committed version when its only map worker is killed and restarted', async () => {
    const c = await TestCluster.start({ maps: 1, merges: 1, heartbeatTimeoutMs: 1500 });
    cluster = c;
    // A supervisor restarts the map worker under its id: for a moment there is none, which ends
    // the run (not the job); the job runs on once the map worker is back.
    await surviveMidJob(c, () => c.restartWorker('map-1'), ['--checkpoint-every', '5']);
    expect(c.coordinator.output()).toMatch(/no map workers left; running the job on/);
  });
});
