/**
 * @mrm/runtime — what the embedded engine and a local cluster need at run time, apart from the
 * roles and the real adapters: the in-memory `Transport` (one `MemoryBus` per process, a
 * `MemoryTransport` per role) and `StateStore`, and finding nats-server and a free port for
 * `mrm up`. Test helpers and the conformance suites live in @mrm/testkit, which builds on this.
 *
 * ```ts
 * const bus = MemoryBus.create();
 * const coordinatorSide = bus.connect();
 * const workerSide = bus.connect();
 * const store = new MemoryStateStore();
 * ```
 * @packageDocumentation
 */

export { MemorySpillArea } from './memory-spill-area.js';
export { MemoryStateStore } from './memory-state-store.js';
export { MemoryStreamLog } from './memory-stream-log.js';
export type { MemoryBusOptions } from './memory-transport.js';
export { DEFAULT_MEMORY_MAX_PAYLOAD_BYTES, MemoryBus, MemoryTransport } from './memory-transport.js';
export { findNatsServer, freePort, freePorts } from './nats-server-binary.js';
export type { NatsClusterNodeConfig, NatsServerConfigOptions } from './nats-server-config.js';
export { NATS_META_LEADER_PATTERN, natsServerConfig } from './nats-server-config.js';
