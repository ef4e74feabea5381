// What a version's checkpoint copies cost the transport, without the rest of the engine: per
// "version", PARTS partitions each read their lease and put a copy of BYTES bytes into the blob
// store (all partitions at once, as a merge worker's checkpoints do), then the copies of the
// version KEEP back are deleted one after another (as the coordinator's manifest trims them), and
// every VERSIONS/4-th version the chains are read back (a restore). Reports wall ms and CPU ms
// per version of this process (merge worker + coordinator side) and of nats-server
// (/proc/<pid>/stat), per phase. ROOT=<another checkout> measures that one's build, so two builds
// alternate in one sitting (docs/decisions/0031).
// Usage: npx tsc -b && VERSIONS=200 PARTS=16 BYTES=4000 node scripts/perf/copy-round-trips.mjs
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = process.env.ROOT ?? fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const { leaseKey, LEASES_BUCKET, encode } = await import(`${ROOT}/packages/core/dist/index.js`);
const { NatsTransport } = await import(`${ROOT}/packages/transport-nats/dist/index.js`);
const { startNatsServer } = await import(`${ROOT}/packages/testkit/dist/index.js`);

const VERSIONS = Number(process.env.VERSIONS ?? 200);
const PARTS = Number(process.env.PARTS ?? 16);
const BYTES = Number(process.env.BYTES ?? 4000);
const KEEP = Number(process.env.KEEP ?? 11);

/** CPU ms (user + system) of a process from /proc. */
function procCpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
}
const selfCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const nats = await startNatsServer({ jetstream: true });
const t = await NatsTransport.connect({ servers: nats.url });
const phases = { put: [0, 0, 0], delete: [0, 0, 0], restore: [0, 0, 0] };
async function timed(phase, fn) {
  const w0 = performance.now();
  const c0 = selfCpuMs();
  const s0 = procCpuMs(nats.pid);
  await fn();
  const p = phases[phase];
  p[0] += performance.now() - w0;
  p[1] += selfCpuMs() - c0;
  p[2] += procCpuMs(nats.pid) - s0;
}
try {
  const leases = await t.bucket(LEASES_BUCKET);
  for (let p = 0; p < PARTS; p++) await leases.put(leaseKey('job', p), encode({ owner: 'w' }));
  const data = new Uint8Array(BYTES).map((_, i) => (i * 31) & 0xff);
  const name = (p, v) => `checkpoints/job/p${p}/v${v}-t1`;
  await t.blobs.put('warm-up', data);
  for (let v = 1; v <= VERSIONS; v++) {
    await timed('put', () =>
      Promise.all(
        Array.from({ length: PARTS }, async (_, p) => {
          await leases.get(leaseKey('job', p));
          await t.blobs.put(name(p, v), data);
        }),
      ),
    );
    if (v > KEEP) {
      await timed('delete', async () => {
        for (let p = 0; p < PARTS; p++) await t.blobs.delete(name(p, v - KEEP));
      });
    }
    if (v % Math.max(1, Math.floor(VERSIONS / 4)) === 0) {
      await timed('restore', async () => {
        for (let p = 0; p < PARTS; p++) {
          for (let u = Math.max(1, v - KEEP + 1); u <= v; u++) {
            const got = await t.blobs.get(name(p, u));
            if (got?.byteLength !== BYTES) throw new Error(`copy ${name(p, u)} read back wrong`);
          }
        }
      });
    }
  }
  const left = (await t.blobs.list('checkpoints/job/')).length;
  const per = (x) => (x / VERSIONS).toFixed(2);
  console.log(`root=${ROOT} versions=${VERSIONS} parts=${PARTS} bytes=${BYTES} kept=${left}`);
  for (const [phase, [wall, cpu, server]] of Object.entries(phases)) {
    console.log(
      `${phase.padEnd(8)} per version: wall ${per(wall)} ms, client CPU ${per(cpu)} ms, nats-server CPU ${per(server)} ms`,
    );
  }
} finally {
  await t.close();
  await nats.stop();
}
