import { MemoryStateStore } from '@mrm/runtime';
import { stateStoreConformance } from '@mrm/testkit/conformance';

stateStoreConformance('MemoryStateStore', async () => ({ store: new MemoryStateStore(), cleanup: async () => {} }));
