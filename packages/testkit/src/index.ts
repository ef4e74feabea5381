/**
 * @mrm/testkit — in-memory adapters of the ports (the embedded engine runs on `MemoryBus`), and a
 * launcher for real nats-server processes in tests. The conformance suites, which need vitest,
 * are a separate entry: `@mrm/testkit/conformance`.
 *
 * ```ts
 * const bus = MemoryBus.create();
 * const a = bus.connect();
 * const b = bus.connect();
 * const store = new MemoryStateStore();
 * ```
 * @packageDocumentation
 */

export { MemorySpillArea } from './memory-spill-area.js';
export { MemoryStateStore } from './memory-state-store.js';
export type { MemoryBusOptions } from './memory-transport.js';
export { DEFAULT_MEMORY_MAX_PAYLOAD_BYTES, MemoryBus, MemoryTransport } from './memory-transport.js';
export type { NatsServerHandle, NatsServerOptions } from './nats-server.js';
export { findNatsServer, freePort, startNatsServer } from './nats-server.js';
export type { ProcessResult, RunProcessOptions } from './run-process.js';
export { runProcess } from './run-process.js';
export { seededRandom, zipfLines, zipfSampler } from './zipf.js';
