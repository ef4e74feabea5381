// CPU of one merge worker partition's checkpoint path, in one process: KEYS keys of ~1 KB values
// (the checkpoint-cost bench's state), BATCHES batches of PER keys merged, a checkpoint every EVERY
// (LMDB write, durable) and its copy shipped to JetStream (COPIES=0: none), one after the other so
// each phase's CPU (process.cpuUsage) is its own. ROOT=<another checkout> measures that one's build,
// so two builds alternate in one sitting (docs/decisions/0026).
// Usage: npx tsc -b && KEYS=10000 BATCHES=30 PER=700 node scripts/perf/checkpoint-copy-cpu.mjs
// Measured (2 rounds, alternating, load average 19-30 on 2 cores): ship CPU 958, 856 ms before ->
// 656, 545 ms after; ship wall 6.5, 6.2 s -> 4.0, 3.3 s.
import { fileURLToPath } from 'node:url';

const ROOT = process.env.ROOT ?? fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const { resolveJob, canonicalKey, leaseKey, LEASES_BUCKET, encode } = await import(
  `${ROOT}/packages/core/dist/index.js`
);
const { LmdbStateStore } = await import(`${ROOT}/packages/store-lmdb/dist/index.js`);
const { NatsTransport } = await import(`${ROOT}/packages/transport-nats/dist/index.js`);
const { startNatsServer } = await import(`${ROOT}/packages/testkit/dist/index.js`);
const { PartitionMerger } = await import(`${ROOT}/packages/merge-worker/dist/partition-merger.js`);
const { PartitionCopies } = await import(`${ROOT}/packages/merge-worker/dist/partition-copies.js`);
const { ValueBuffer } = await import(`${ROOT}/packages/merge-worker/dist/value-buffer.js`);

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const KEYS = Number(process.env.KEYS ?? 10000),
  BATCHES = Number(process.env.BATCHES ?? 60),
  PER = Number(process.env.PER ?? 700);
const EVERY = Number(process.env.EVERY ?? 10),
  COPIES = process.env.COPIES !== '0';
const job = resolveJob({
  name: 'sc',
  partitions: 1,
  salt: false,
  map(l, emit) {
    emit(l, 1);
  },
  reduce: (_k, vs) => [vs.length, vs[0]],
  merge: (_k, p, n) => (p === undefined ? n : [p[0] + n[0], p[1]]),
});
let text = '';
let x = 12345;
for (let i = 0; i < 65536; i++) {
  x = (x * 1103515245 + 12345) >>> 0;
  text += String.fromCharCode(97 + ((x >>> 16) % 26));
}
// VALUES=<folder of text files>: each value the next 1,000-character slice of their text (books:
// brotli keeps ~0.42 of it) instead of a window into the bench's one 64 KiB pseudo-random text
// (which a copy of many keys repeats, so that it compresses ~40x: decisions/0054).
const book =
  process.env.VALUES === undefined
    ? undefined
    : readdirSync(process.env.VALUES)
        .sort()
        .map((f) => readFileSync(join(process.env.VALUES, f), 'utf8'))
        .join('\n');
const val =
  book === undefined
    ? (i) => text.slice((i * 7919) % (65536 - 1000), ((i * 7919) % (65536 - 1000)) + 1000)
    : (i) => book.slice((i * 1000) % (book.length - 1000), ((i * 1000) % (book.length - 1000)) + 1000);
const key = (i) => canonicalKey(`key-${String(i).padStart(9, '0')}`);
const dir = mkdtempSync(join(tmpdir(), 'micro-'));
const nats = await startNatsServer({ jetstream: true });
const t = await NatsTransport.connect({ servers: nats.url });
const store = await LmdbStateStore.open({ path: join(dir, 'lmdb') });
try {
  const changes = new Map();
  for (let i = 0; i < KEYS; i++) changes.set(key(i), [1, val(i)]);
  await store.writePartition({ job: 'sc', partition: 0, version: 1, changes, batches: ['s'], keyCount: KEYS });
  await store.commitVersion('sc', {
    version: 1,
    createdAtMs: 0,
    base: 0,
    batches: 1,
    records: KEYS,
    keys: KEYS,
    label: '',
  });
  const leases = await t.bucket(LEASES_BUCKET);
  const token = await leases.create(leaseKey('sc', 0), encode({ owner: 'm' }));
  const copies = new PartitionCopies(
    { blobs: t.blobs, leases },
    store,
    'sc',
    [{ partition: 0, token, chain: [], shipFull: false }],
    { info() {}, warn() {}, error() {}, debug() {} },
  );
  const merger = await PartitionMerger.open({ store, jobName: 'sc', job, partition: 0 });
  const cpu = { merge: 0, ckSync: 0, ckWait: 0, ship: 0 };
  const wall = { ckWait: 0, ship: 0 };
  const ms = (c) => (c.user + c.system) / 1000;
  // nats-server's CPU (user + system, clock ticks of 10 ms): what storing the copies costs it.
  const natsCpuMs = () => {
    const fields = readFileSync(`/proc/${nats.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  };
  const nats0 = natsCpuMs();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let j = 0;

  for (let b = 0; b < BATCHES; b++) {
    const buf = new ValueBuffer(job, 'fail');
    for (let n = 0; n < PER; n++) {
      buf.add(key(j % KEYS), 'x');
      j++;
    }
    let c = process.cpuUsage();
    await merger.mergeBatch(`b${b}`, buf);
    cpu.merge += ms(process.cpuUsage(c));
    if ((b + 1) % EVERY === 0) {
      const version = 2 + Math.floor(b / EVERY);
      c = process.cpuUsage();
      let w = performance.now();
      const p = merger.checkpoint(version);
      cpu.ckSync += ms(process.cpuUsage(c));
      const layer = await p; // serial here, to attribute costs
      wall.ckWait += performance.now() - w;
      if (COPIES) {
        c = process.cpuUsage();
        w = performance.now();
        await copies.ship(0, version, layer);
        cpu.ship += ms(process.cpuUsage(c));
        wall.ship += performance.now() - w;
      }
      await store.commitVersion('sc', {
        version,
        createdAtMs: 0,
        base: 0,
        batches: 1,
        records: 1,
        keys: KEYS,
        label: '',
      });
    }
  }
  const total = ms(process.cpuUsage(c0));
  console.log(
    JSON.stringify({
      KEYS,
      BATCHES,
      PER,
      EVERY,
      COPIES,
      wallMs: Math.round(performance.now() - t0),
      cpuMs: Math.round(total),
      natsCpuMs: natsCpuMs() - nats0,
      cpu: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Math.round(v)])),
      wall: Object.fromEntries(Object.entries(wall).map(([k, v]) => [k, Math.round(v)])),
    }),
  );
} finally {
  await store.close();
  await t.close();
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
}
