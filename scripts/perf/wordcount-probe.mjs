// What the perf probes share: the packages to measure (this checkout's, or `--packages=<dir>`),
// the word count job, one input file cut into batches, and a CPU-seconds clock.
import { readFileSync } from 'node:fs';

/** Loads the packages and the input named on the command line: `<file.txt> [batchLines=50000]`. */
export async function wordcountProbe() {
  const root =
    process.argv.find((a) => a.startsWith('--packages='))?.slice(11) ??
    new URL('../../packages', import.meta.url).pathname;
  const mapWorker = await import(`${root}/map-worker/dist/batch-collector.js`);
  const keyTables = await import(`${root}/map-worker/dist/key-table.js`).catch(() => undefined);
  const input = await import(`${root}/input/dist/index.js`);
  const core = await import(`${root}/core/dist/index.js`);
  const file = process.argv[2];
  const batchLines = +(process.argv[3] ?? 50000);
  const text = readFileSync(file, 'utf8');
  const WORD = /[A-Za-z]+/g;
  const job = core.resolveJob({
    name: 'wc',
    map(line, emit) {
      for (const w of line.match(WORD) ?? []) emit(w, 1);
    },
    ...core.aggregates.sum(),
  });
  const lines = text.split('\n');
  const batches = [];
  for (let i = 0; i < lines.length; i += batchLines) batches.push(lines.slice(i, i + batchLines).join('\n'));
  /** A batch collector of this build (key tables came later: older builds have none). */
  const newCollector = () =>
    keyTables ? new mapWorker.BatchCollector(job, keyTables.acquireKeyTable(job)) : new mapWorker.BatchCollector(job);
  /** CPU seconds of this process so far. */
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  return { root, core, input, job, text, WORD, batches, newCollector, cpu };
}
