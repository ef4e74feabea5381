import { aggregates } from '@mrm/core';
const N = 300_000;
const which = process.argv[2];
const runs = { distinctFew: [aggregates.distinct(), (i) => `ip-${i % 1000}`], topKFew: [aggregates.topK(10), (i) => `u-${(i * 7919) % 500}`], hllMany: [aggregates.approxDistinct(), (i) => `ip-${i}`] };
const [p, gen] = runs[which];
const t0 = performance.now();
let list = [];
for (let i = 0; i < N; i++) { list.push(gen(i)); if (list.length >= 32) list = [p.combine('k', list)]; }
console.log(which, ((performance.now() - t0) / N * 1000).toFixed(2), 'µs/value');
