// CPU per MB of a map thread's frame encoding on the push suite's pairs (~500 of a 1 KB value),
// up to the buffer it hands to the main thread, alternating 9 times, median:
//   listed: encodeMessage with the list, then the copy into a buffer of its own (map-thread.ts);
//   packed: encodePackedFrame (decisions/0051), already a buffer of its own.
// Run after `npx tsc -b`: node scripts/perf/frame-encode-cost.mjs
import { canonicalKey, encodeMessage, encodePackedFrame } from '@mrm/core';

const pairs = [];
for (let i = 0; i < 480; i++) pairs.push(canonicalKey(`key-${String(i).padStart(6, '0')}`), `${'x'.repeat(1000)}${i}`);
const header = { jobId: 'j', run: 1, seq: 0, partition: 0, attempt: 1, from: 'map-0' };
const own = (b) => {
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return copy;
};
const ways = {
  listed: () => own(encodeMessage({ type: 'frame', ...header, pairs })),
  packed: () => encodePackedFrame(header, pairs),
};
const results = { listed: [], packed: [] };
for (let round = 0; round < 9; round++) {
  for (const [name, encodeFrame] of Object.entries(ways)) {
    const started = process.cpuUsage();
    let bytes = 0;
    for (let i = 0; i < 256; i++) bytes += encodeFrame().byteLength;
    const used = process.cpuUsage(started);
    results[name].push((used.user + used.system) / 1000 / (bytes / 1e6));
  }
}
for (const [name, ms] of Object.entries(results)) {
  const sorted = [...ms].sort((a, b) => a - b);
  console.log(
    `${name.padEnd(8)} median ${sorted[4].toFixed(3)} CPU-ms per MB (${ms.map((x) => x.toFixed(2)).join(', ')})`,
  );
}
