/**
 * The simulated workers of the coordinator-scale suite as a process of their own, so that they do
 * not share the coordinator's event loop: `node simulated-workers-main.js <nats-url> <maps> <merges>`
 * prints `ready` once every worker listens, answers a `reports` line on stdin with
 * `reports <n>` (reports published to the coordinator so far), and runs until its stdin closes.
 */
import { NatsTransport } from '@mrm/transport-nats';
import { startSimulatedWorkers } from './simulated-workers.js';

const [url, maps, merges] = process.argv.slice(2);
const transport = await NatsTransport.connect({ servers: url as string, name: 'mrm-bench-simulated-workers' });
const workers = startSimulatedWorkers(transport, Number(maps), Number(merges));
await transport.flush();
process.stdout.write('ready\n');
process.stdin.on('data', (d: Buffer) => {
  if (d.toString().includes('reports')) process.stdout.write(`reports ${workers.reports()}\n`);
});
process.stdin.on('end', () => {
  workers.close();
  void transport.close().then(() => process.exit(0));
});
