import { MemoryStateStore } from '@mrm/testkit';
import { stateStoreConformance } from '@mrm/testkit/conformance';

stateStoreConformance('MemoryStateStore', async () => ({ store: new MemoryStateStore(), cleanup: async () => {} }));
