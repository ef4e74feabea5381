import { aggregates } from '@mrm/core';
const a = aggregates.approxDistinct();
for (const n of [2000, 20000, 100000]) {
let sum = 0, sq = 0; const T = 40;
for (let t = 0; t < T; t++) { const vals = Array.from({ length: n }, (_, i) => `${t}.${i}.x`); const e = a.finalize('k', a.reduce('k', vals)); const r=(e-n)/n; sum += r; sq += r*r; }
console.log(n, 'mean rel err', (sum/T*100).toFixed(3)+'%', 'rms', (Math.sqrt(sq/T)*100).toFixed(3)+'%');
}
