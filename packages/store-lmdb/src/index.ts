/**
 * @mrm/store-lmdb — the StateStore port on LMDB: multi-versioned partition state, the batch
 * record, versions, metadata and a spill area, in one LMDB environment (a directory).
 *
 * ```ts
 * import { LmdbStateStore } from '@mrm/store-lmdb';
 * const store = await LmdbStateStore.open({ path: '.mrm/state' });
 * const latest = await store.latestVersion('wordcount');
 * for await (const [key, value] of store.scan('wordcount', 0, { asOf: latest?.version ?? 0 })) console.log(key, value);
 * await store.close();
 * ```
 * @packageDocumentation
 */
export { LAYOUT_VERSION } from './key-layout.js';
export { LmdbSpillArea } from './lmdb-spill-area.js';
export { LmdbStateStore } from './lmdb-state-store.js';
export type { LmdbStoreOptions, ResolvedLmdbStoreOptions } from './options.js';
export { DEFAULT_MAP_SIZE_BYTES, DEFAULT_PAGE_SIZE_BYTES, resolveLmdbStoreOptions } from './options.js';
