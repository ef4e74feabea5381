/**
 * The Transport conformance suite: one set of vitest tests that every {@link Transport} adapter
 * must pass (the in-memory one and the NATS one alike), so that roles tested on the in-memory
 * adapter behave the same on NATS.
 *
 * ```ts
 * transportConformance('MemoryTransport', async () => {
 *   const bus = MemoryBus.create();
 *   return { connect: async () => bus.connect(), cleanup: async () => {} };
 * });
 * ```
 */
import type { Transport } from '@mrm/core';
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import type { ConformanceContext } from './transport-conformance/helpers.js';
import { lifecycleConformance } from './transport-conformance/lifecycle.js';
import { messagingConformance } from './transport-conformance/messaging.js';
import { requestConformance } from './transport-conformance/requests.js';
import { storageConformance } from './transport-conformance/storage.js';

/** What {@link transportConformance} needs from an adapter. */
export interface TransportConformanceSetup {
  /** A new connected transport, as a separate process would have; the suite closes it after each test. */
  connect(): Promise<Transport>;
  /** Releases what the setup started (a server, temp dirs); called once after the suite. */
  cleanup(): Promise<void>;
}

/** Registers the conformance tests for the adapter `name`; `setup` runs once before them. */
export function transportConformance(name: string, setup: () => Promise<TransportConformanceSetup>): void {
  describe(`Transport conformance: ${name}`, () => {
    let adapter: TransportConformanceSetup | undefined;
    const opened: Transport[] = [];
    const ctx: ConformanceContext = {
      async connect() {
        if (adapter === undefined) throw new Error('transportConformance: setup has not completed');
        const transport = await adapter.connect();
        opened.push(transport);
        return transport;
      },
    };

    beforeAll(async () => {
      adapter = await setup();
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((transport) => transport.close()));
    });
    afterAll(async () => {
      await adapter?.cleanup();
    });

    messagingConformance(ctx);
    requestConformance(ctx);
    storageConformance(ctx);
    lifecycleConformance(ctx);
  });
}
