// Wall time of restoring PARTS partitions of KEYS keys of ~1 KB each (the recovery bench's state:
// ~17 MB a partition) from full-snapshot copies in JetStream into an empty LMDB store, the way a
// merge worker does at run start (PartitionCopies.restoreAllIfStale), and of its phases alone:
// the blob gets, the decoding, the LMDB writes. ROOT=<another checkout> measures that build, so two
// builds alternate in one sitting (decisions/0047). Each figure is wall ms / CPU ms of this
// process (nats-server's not counted): on a loaded machine the CPU is the steadier one (0055).
// Usage: npx tsc -b && PARTS=3 KEYS=17000 node scripts/perf/restore-probe.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = process.env.ROOT ?? fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const core = await import(`${ROOT}/packages/core/dist/index.js`);
const {
  canonicalKey,
  leaseKey,
  LEASES_BUCKET,
  encode,
  checkpointBlobName,
  encodeCheckpointCopy,
  decodeCheckpointCopy,
} = core;
const { LmdbStateStore } = await import(`${ROOT}/packages/store-lmdb/dist/index.js`);
const { NatsTransport } = await import(`${ROOT}/packages/transport-nats/dist/index.js`);
const { startNatsServer } = await import(`${ROOT}/packages/testkit/dist/index.js`);
const { PartitionCopies } = await import(`${ROOT}/packages/merge-worker/dist/partition-copies.js`);

const PARTS = Number(process.env.PARTS ?? 3);
const KEYS = Number(process.env.KEYS ?? 17000);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const job = 'rp';
/** A ~1 KB value per key (no compression anywhere: its content does not matter). */
const val = (i) => `${i}:`.padEnd(1000, 'abcdefghij');
const dir = mkdtempSync(join(tmpdir(), 'restore-probe-'));
const nats = await startNatsServer({ jetstream: true });
const t = await NatsTransport.connect({ servers: nats.url });
const silent = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silent;
  },
};
/** A phase's start: wall clock and this process's CPU. */
const now = () => ({ wall: performance.now(), cpu: process.cpuUsage() });
/** `<wall ms>/<CPU ms>` since `a`. */
const ms = (a) => {
  const u = process.cpuUsage(a.cpu);
  return `${(performance.now() - a.wall).toFixed(0)}/${((u.user + u.system) / 1000).toFixed(0)}`;
};
try {
  const leases = await t.bucket(LEASES_BUCKET);
  const plans = [];
  let total = 0;
  for (let p = 0; p < PARTS; p++) {
    const token = await leases.put(leaseKey(job, p), encode({ owner: 'm' }));
    const entries = [];
    for (let i = 0; i < KEYS; i++) entries.push(canonicalKey(`key-${p}-${String(i).padStart(9, '0')}`), [1, val(i)]);
    const name = checkpointBlobName(job, p, 5, token);
    const bytes = encodeCheckpointCopy({
      version: 5,
      partition: p,
      full: true,
      entries,
      deleted: [],
      batches: ['b'],
      keyCount: KEYS,
    });
    total += bytes.byteLength;
    await t.blobs.put(name, bytes);
    plans.push({ partition: p, token, tenure: token, chain: [name], shipFull: false });
  }
  console.log(`${PARTS} partitions, ${(total / 1e6).toFixed(1)} MB of copies`);
  for (let r = 0; r < ROUNDS; r++) {
    let a = now();
    const got = await Promise.all(plans.map((pl) => t.blobs.get(pl.chain[0])));
    const getMs = ms(a);
    a = now();
    const copies = got.map((g, i) => decodeCheckpointCopy(g, plans[i].chain[0]));
    const decodeMs = ms(a);
    const s1 = await LmdbStateStore.open({ path: join(dir, `w${r}`) });
    a = now();
    for (const c of copies) {
      const changes = new Map();
      for (let i = 0; i < c.entries.length; i += 2) changes.set(c.entries[i], c.entries[i + 1]);
      await s1.restorePartition({
        job,
        partition: c.partition,
        version: 5,
        changes,
        batches: c.batches,
        keyCount: c.keyCount,
      });
    }
    const writeMs = ms(a);
    await s1.close();
    const s2 = await LmdbStateStore.open({ path: join(dir, `r${r}`) });
    a = now();
    const pc = new PartitionCopies({ blobs: t.blobs, leases }, s2, job, plans, silent);
    const restored = await pc.restoreAllIfStale(
      plans.map((p) => p.partition),
      5,
    );
    const wholeMs = ms(a);
    await s2.close();
    console.log(
      `round ${r + 1} (wall/CPU ms): restoreAllIfStale ${wholeMs} (${(restored / 1e6 / (Number(wholeMs.split('/')[0]) / 1000)).toFixed(1)} MB/s wall); alone: gets ${getMs}, decode ${decodeMs}, LMDB writes ${writeMs}`,
    );
  }
} finally {
  await t.close();
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
}
