// JetStream disk use when copies are replaced: 200 puts of 500 KB, each deleting the blob two puts
// back, through the transport's delete (which also purges the object store's "deleted" metadata
// record) and through the object store's delete alone. Usage: npx tsc -b && node scripts/perf/jetstream-copies-disk.mjs
// Measured (nats-server 2.9.10): transport 11.8, 15.1, 10.1, 13.4, 16.8 MB after 40…200 puts;
// object store alone 20.1, 40.2, 60.2, 80.3, 100.3 MB (its tombstones pin every file block).

import { execFileSync } from 'node:child_process';
import { Objm } from '@nats-io/obj';
import { connect } from '@nats-io/transport-node';
import { startNatsServer } from '../../packages/testkit/dist/index.js';
import { NatsTransport } from '../../packages/transport-nats/dist/index.js';

for (const how of ['transport', 'object store alone']) {
  const server = await startNatsServer({ jetstream: true });
  const transport = await NatsTransport.connect({ servers: server.url });
  const nc = await connect({ servers: server.url });
  const du = () =>
    Number(
      execFileSync('sh', ['-c', 'du -sb "$0"/jetstream/*/streams/OBJ*', server.storeDir]).toString().split('\t')[0],
    );
  await transport.blobs.put('kept', new Uint8Array(100_000));
  const os = await new Objm(nc).open('mrm-blobs');
  const sizes = [];
  for (let i = 0; i < 200; i++) {
    await transport.blobs.put(`c/v${i}`, new Uint8Array(500_000).fill(i));
    const old = `c/v${i - 2}`;
    if (i >= 2) await (how === 'transport' ? transport.blobs.delete(old) : os.delete(old));
    if (i % 40 === 39) sizes.push(`${(du() / 1e6).toFixed(1)} MB`);
  }
  console.log(`${how}: after 40, 80, 120, 160, 200 puts: ${sizes.join(', ')}`);
  await nc.close();
  await transport.close();
  await server.stop();
}
