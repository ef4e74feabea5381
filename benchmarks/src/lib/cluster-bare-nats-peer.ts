/**
 * One side of the bare NATS loop of the push suite, as its own process (as a map worker and a
 * merge worker are): no MRM code, only the NATS client.
 *
 * - `node cluster-bare-nats-peer.js sub <url> <subject> <messages>`: subscribes, prints `ready`,
 *   counts messages and bytes, and once `messages` have arrived prints one JSON line
 *   `{"messages":…,"bytes":…,"firstToLastMs":…,"bytesAfterFirst":…}`.
 * - `node cluster-bare-nats-peer.js pub <url> <subject> <payloadBytes> <messages> <windowBytes>`:
 *   publishes `messages` payloads as fast as the client lets it, waiting for the server's flush
 *   every `windowBytes` (so no more than a window is ever buffered in this process), and prints
 *   `{"publishMs":…}`.
 */
import { connect } from '@nats-io/transport-node';

const [role, url, subject, ...rest] = process.argv.slice(2);
const numbers = rest.map(Number);

async function subscriber(messages: number): Promise<void> {
  const nc = await connect({ servers: url as string, name: 'mrm-bench-bare-sub' });
  let count = 0;
  let bytes = 0;
  let first = 0;
  let firstBytes = 0;
  const done = new Promise<void>((resolve) => {
    nc.subscribe(subject as string, {
      callback: (error, msg) => {
        if (error !== null) return;
        const now = performance.now();
        if (count === 0) {
          first = now;
          firstBytes = msg.data.byteLength;
        }
        count++;
        bytes += msg.data.byteLength;
        if (count === messages) {
          const firstToLastMs = now - first;
          process.stdout.write(
            `${JSON.stringify({ messages: count, bytes, firstToLastMs, bytesAfterFirst: bytes - firstBytes })}\n`,
          );
          resolve();
        }
      },
    });
  });
  await nc.flush();
  process.stdout.write('ready\n');
  await done;
  await nc.close();
}

async function publisher(payloadBytes: number, messages: number, windowBytes: number): Promise<void> {
  const nc = await connect({ servers: url as string, name: 'mrm-bench-bare-pub' });
  const payload = new Uint8Array(payloadBytes);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff;
  const started = performance.now();
  let unflushed = 0;
  for (let i = 0; i < messages; i++) {
    nc.publish(subject as string, payload);
    unflushed += payloadBytes;
    if (unflushed >= windowBytes) {
      await nc.flush();
      unflushed = 0;
    }
  }
  await nc.flush();
  process.stdout.write(`${JSON.stringify({ publishMs: performance.now() - started })}\n`);
  await nc.close();
}

if (role === 'sub') await subscriber(numbers[0] as number);
else if (role === 'pub') await publisher(numbers[0] as number, numbers[1] as number, numbers[2] as number);
else {
  process.stderr.write('usage: cluster-bare-nats-peer.js sub|pub <url> <subject> …\n');
  process.exitCode = 2;
}
