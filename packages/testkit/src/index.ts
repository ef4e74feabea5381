export {};
export type { MemoryBusOptions } from './memory-transport.js';
export { DEFAULT_MEMORY_MAX_PAYLOAD_BYTES, MemoryBus, MemoryTransport } from './memory-transport.js';
export type { NatsServerHandle, NatsServerOptions } from './nats-server.js';
export { startNatsServer } from './nats-server.js';
export type { TransportConformanceSetup } from './transport-conformance.js';
export { transportConformance } from './transport-conformance.js';
