/**
 * @mrm/testkit/conformance — the suites every adapter of a port passes (they register vitest
 * `describe`/`it` blocks).
 *
 * ```ts
 * import { stateStoreConformance } from '@mrm/testkit/conformance';
 * stateStoreConformance('LmdbStateStore', async () => ({ store, cleanup }));
 * ```
 * @packageDocumentation
 */

export type { StateStoreUnderTest } from './state-store-conformance.js';
export { stateStoreConformance } from './state-store-conformance.js';
export { rows, writeRows } from './state-store-fixtures.js';
export type { TransportConformanceSetup } from './transport-conformance.js';
export { transportConformance } from './transport-conformance.js';
