// CPU of a merge worker's checkpoint copies (PartitionCopies.ship) in the latency suite's workload,
// builds side by side in one process, alternating: one partition of 62 keys, every key changed by
// every version (a version per 1,000-record batch over 1,000 keys in 16 partitions), each version
// written to a durable-off LMDB store and its copy shipped once the next version's write has
// landed (a backlog: the merge worker runs ahead of its copies). Each build decides its own full
// snapshots (07ee404: every 10th version; decisions/0047: by bytes). Blobs and leases are in-memory
// fakes, so only the merge worker's own work is measured (no NATS). Prints per build the min and
// median CPU ms per version over the rounds, and how many copies were full snapshots.
//   node scripts/perf/full-copy-ab.mjs /work/wt/latency-base /work/wt/latency-main /work/wt/latency
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const roots = process.argv.slice(2);
const VERSIONS = Number(process.env.VERSIONS ?? 200);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const KEYS = 62;
const builds = await Promise.all(
  roots.map(async (root) => ({
    root,
    core: await import(`${root}/packages/core/dist/index.js`),
    lmdb: await import(`${root}/packages/store-lmdb/dist/index.js`),
    copies: await import(`${root}/packages/merge-worker/dist/partition-copies.js`),
  })),
);
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};

async function once(build) {
  const { core, lmdb, copies } = build;
  const dir = mkdtempSync(join(tmpdir(), 'mrm-full-copy-ab-'));
  const store = await lmdb.LmdbStateStore.open({ path: dir, noSync: true });
  const blobs = new Map();
  const target = {
    blobs: { put: async (name, data) => void blobs.set(name, data), get: async (name) => blobs.get(name) },
    leases: { get: async () => ({ revision: 1 }) },
  };
  const plan = { partition: 0, token: 1, tenure: 1, chain: [], shipFull: true };
  const pc = new copies.PartitionCopies(target, store, 'lat', [plan], core.silentLogger);
  const keys = Array.from({ length: KEYS }, (_, i) => core.canonicalKey(`k${i * 16}`));
  const layerOf = (v) => {
    const changes = new Map(keys.map((k) => [k, v]));
    const encoded = new Map(keys.map((k) => [k, core.encode(v)]));
    const bytes = keys.reduce((n, k) => n + k.length + (encoded.get(k)?.byteLength ?? 0), 0);
    return {
      changes,
      earlier: [],
      encoded,
      batches: [`batch-${v}`],
      keyCount: KEYS,
      digest: { keys: KEYS, bytes, hash: '0'.repeat(32) },
      deadLetters: [],
      deadLetterCount: 0,
      lateRecords: 0,
    };
  };
  const write = (v, layer) =>
    store.writePartition({ job: 'lat', partition: 0, version: v, changes: layer.changes, batches: layer.batches });
  let ms = 0;
  let fulls = 0;
  let layer = layerOf(1);
  await write(1, layer);
  for (let v = 1; v <= VERSIONS; v++) {
    const next = layerOf(v + 1);
    const written = write(v + 1, next);
    await written;
    const t = cpu();
    const shipped = await pc.ship(0, v, layer, Promise.resolve());
    ms += cpu() - t;
    if (shipped === true || shipped?.full === true) fulls++;
    layer = next;
  }
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return { ms: ms / VERSIONS, fulls };
}

const results = builds.map(() => []);
const fulls = builds.map(() => 0);
for (let r = 0; r < ROUNDS; r++) {
  for (let i = 0; i < builds.length; i++) {
    const j = r % 2 ? builds.length - 1 - i : i;
    const { ms, fulls: f } = await once(builds[j]);
    results[j].push(ms);
    fulls[j] = f;
  }
}
for (let j = 0; j < builds.length; j++) {
  const s = results[j].sort((a, b) => a - b);
  console.log(
    `${builds[j].root}: ship CPU ms per version min ${s[0].toFixed(3)} median ${s[Math.floor(s.length / 2)].toFixed(3)}; ${fulls[j]} of ${VERSIONS} copies full snapshots`,
  );
}
