import { MemoryStateStore, stateStoreConformance } from '@mrm/testkit';

stateStoreConformance('MemoryStateStore', async () => ({ store: new MemoryStateStore(), cleanup: async () => {} }));
