/**
 * The jobs and inputs of the latency and push suites, written as files when a suite runs. The
 * jobs are plain objects with no imports, so `mrm submit` bundles them from any folder; each is
 * incremental (it has `merge`), as MRM's jobs usually are.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A job whose map is as cheap as a map gets (one `indexOf`, one `slice`, one emit per line) and
 * sums per key: the latency suite measures the engine around the map, not the map.
 */
export function countingJobSource(name: string): string {
  return `// Written by the latency benchmark: counts lines by their first word.
export default {
  name: ${JSON.stringify(name)},
  map(line, emit) {
    emit(line.slice(0, line.indexOf(' ')), 1);
  },
  fold: (key, acc, value) => (acc ?? 0) + value,
  combine: (key, values) => values.reduce((a, b) => a + b, 0),
  reduce: (key, values) => values.reduce((a, b) => a + b, 0),
  merge: (key, prev, next) => (prev ?? 0) + next,
};
`;
}

/**
 * A job that emits every line as its own key (`<key>\\t<value>`), so nothing combines away and
 * the map worker's frames fill up to the largest frame size: the push suite measures the push
 * path. The last value of a key wins.
 */
export function passThroughJobSource(name: string, partitions: number): string {
  return `// Written by the push benchmark: every line is a distinct key with a ~1 KB value.
export default {
  name: ${JSON.stringify(name)},
  partitions: ${partitions},
  map(line, emit) {
    const tab = line.indexOf('\\t');
    emit(line.slice(0, tab), line.slice(tab + 1));
  },
  reduce: (key, values) => values[values.length - 1],
  merge: (key, prev, next) => next,
};
`;
}

/** Writes a job source to `<dir>/<file>` and returns its path. */
export function writeJobFile(dir: string, file: string, source: string): string {
  const path = join(dir, file);
  writeFileSync(path, source);
  return path;
}

/** Distinct keys of the latency input: every batch of 1,000 lines holds each once. */
export const LATENCY_KEYS = 1000;

/**
 * The latency input: `batches × linesPerBatch` lines `k<i mod 1000> <filler>`. With
 * `--batch-size linesPerBatch` every batch is one map task; the count of `k0` in the result is
 * `batches × linesPerBatch / 1000` when `linesPerBatch` is a multiple of 1,000.
 */
export function writeLatencyInput(path: string, batches: number, linesPerBatch: number, salt: string): void {
  const filler = `${salt} the quick brown fox jumps over the lazy dog`;
  const fd = openSync(path, 'w');
  try {
    for (let b = 0; b < batches; b++) {
      let chunk = '';
      for (let i = 0; i < linesPerBatch; i++) chunk += `k${(b * linesPerBatch + i) % LATENCY_KEYS} ${filler}\n`;
      writeSync(fd, chunk);
    }
  } finally {
    closeSync(fd);
  }
}

/** Bytes of a push input line's value: about 1 KB, so a 512 KiB frame carries ~500 pairs. */
export const PUSH_VALUE_BYTES = 1000;

/** The key of push input line `i`. */
export function pushKey(i: number): string {
  return `key-${String(i).padStart(9, '0')}`;
}

/** The value of push input line `i` (a window into a fixed pseudo-random text, different per line). */
export function pushValue(i: number): string {
  const start = (i * 7919) % (PUSH_TEXT.length - PUSH_VALUE_BYTES);
  return PUSH_TEXT.slice(start, start + PUSH_VALUE_BYTES);
}

/** 64 KiB of letters from a fixed linear congruential sequence: the same every run. */
const PUSH_TEXT = (() => {
  let x = 12345;
  let s = '';
  for (let i = 0; i < 65536; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += String.fromCharCode(97 + ((x >>> 16) % 26));
  }
  return s;
})();

/** A push input on disk. */
export interface PushInput {
  readonly path: string;
  readonly lines: number;
  readonly bytes: number;
}

/**
 * The push input of about `sizeMb` MB (10^6 bytes): lines `key-<i>\t<~1 KB value>`, kept in
 * `cacheDir` and reused while its size matches.
 */
export function pushInput(cacheDir: string, sizeMb: number): PushInput {
  const lineBytes = pushKey(0).length + 1 + PUSH_VALUE_BYTES + 1;
  const lines = Math.max(1, Math.round((sizeMb * 1e6) / lineBytes));
  const path = join(cacheDir, `push-${lines}-lines.txt`);
  const bytes = lines * lineBytes;
  if (existsSync(path) && statSync(path).size === bytes) return { path, lines, bytes };
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    for (let from = 0; from < lines; from += 1000) {
      let chunk = '';
      for (let i = from; i < Math.min(lines, from + 1000); i++) chunk += `${pushKey(i)}\t${pushValue(i)}\n`;
      writeSync(fd, chunk);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return { path, lines, bytes };
}
