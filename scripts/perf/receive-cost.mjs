// CPU per MB of a merge worker's receive path on the push suite's frames (~500 pairs of a 1 KB
// value, ~480 KiB), before and after decisions/0051, in one process, alternating 5 times:
//   listed: copy the frame off the client's buffer (`owned`), decode every pair, add it to the batch's buffer;
//   packed: decode the header and copy the packed bin (what `onData` does now).
// Merging still decodes packed pairs later (`unpack + add`, measured too): the receive path is
// what the map worker's credit waits for. Run after `npx tsc -b`: node scripts/perf/receive-cost.mjs
// [--lagging] (hold every frame of a round, garbage collection of what is held included).
import { canonicalKey, decodeMessage, encode, encodeMessage, resolveJob, unpackPairs } from '@mrm/core';
import { ValueBuffer } from '../../packages/merge-worker/dist/value-buffer.js';

// The push suite's job (benchmarks/src/lib/cluster-jobs.ts, passThroughJobSource).
const job = resolveJob({
  name: 'push',
  partitions: 4,
  map() {},
  reduce: (_key, values) => values[values.length - 1],
  merge: (_key, _prev, next) => next,
});
const pairs = [];
for (let i = 0; i < 480; i++) pairs.push(canonicalKey(`key-${String(i).padStart(6, '0')}`), `${'x'.repeat(1000)}${i}`);
const base = { jobId: 'j', run: 1, seq: 0, partition: 0, attempt: 1, from: 'map-0' };
// Plain Uint8Arrays, as the NATS client hands them out (a Buffer's `slice` would not copy).
const listed = new Uint8Array(encodeMessage({ type: 'frame', ...base, pairs }));
const packed = new Uint8Array(
  encodeMessage({ type: 'frame', ...base, packed: encode(pairs), count: pairs.length / 2 }),
);
const FRAMES = 256; // ~125 MB, about the suite's input
const lagging = process.argv.includes('--lagging');

const paths = {
  listed: (frame, buffer) => buffer.addPairs(decodeMessage(frame.slice()).pairs),
  packed: (frame, held) => held.push(decodeMessage(frame).packed),
  'unpack + add (at merge)': (bin, buffer) => buffer.addPairs(unpackPairs(bin, pairs.length / 2)),
};
const inputs = { listed, packed, 'unpack + add (at merge)': new Uint8Array(encode(pairs)) };
const results = Object.fromEntries(Object.keys(paths).map((k) => [k, []]));
for (let round = 0; round < 5; round++) {
  for (const [name, path] of Object.entries(paths)) {
    const input = inputs[name];
    // What waits to be merged: a batch (16 frames) when merging keeps up, or (`--lagging`) every
    // frame of the round, as when the merge worker buffers what it has not merged yet.
    const batches = [];
    let held;
    const started = process.cpuUsage();
    for (let i = 0; i < FRAMES; i++) {
      if (i % (lagging ? FRAMES : 16) === 0) {
        held = name === 'packed' ? [] : new ValueBuffer(job);
        batches.push(held);
      }
      path(input, held);
    }
    const used = process.cpuUsage(started);
    batches.length = 0;
    results[name].push((used.user + used.system) / 1000 / ((input.byteLength * FRAMES) / 1e6));
  }
}
for (const [name, ms] of Object.entries(results)) {
  const sorted = [...ms].sort((a, b) => a - b);
  console.log(
    `${name.padEnd(24)} median ${sorted[2].toFixed(3)} CPU-ms per MB (${ms.map((x) => x.toFixed(2)).join(', ')})`,
  );
}
