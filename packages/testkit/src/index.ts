/**
 * @mrm/testkit — helpers for tests: a launcher for real nats-server processes, a process runner
 * and a fake `Clock` whose timers fire when the test advances it. The in-memory adapters the
 * tests run on live in @mrm/runtime (the embedded engine runs on them too). The conformance
 * suites, which need vitest, are a separate entry: `@mrm/testkit/conformance`.
 *
 * ```ts
 * const server = await startNatsServer({ jetstream: true });
 * afterAll(() => server.stop());
 * ```
 * @packageDocumentation
 */

export { FAKE_CLOCK_START_MS, FakeClock, settle } from './fake-clock.js';
export type { NatsClusterHandle, NatsClusterNode, NatsClusterOptions } from './nats-cluster.js';
export { startNatsCluster } from './nats-cluster.js';
export type { NatsOperatorCredentials, NatsTlsFiles } from './nats-security.js';
export { natsOperatorCredentials, natsTlsFiles } from './nats-security.js';
export type { NatsServerHandle, NatsServerOptions } from './nats-server.js';
export { startNatsServer } from './nats-server.js';
export type { ProcessResult, RunProcessOptions } from './run-process.js';
export { runProcess } from './run-process.js';
export { seededRandom, zipfLines, zipfSampler } from './zipf.js';
