/**
 * Merging sorted runs, as Hadoop does on both sides of the shuffle: at most `factor` runs at a
 * time (`mapreduce.task.io.sort.factor`), in passes written to disk until few enough remain,
 * then one last merge that hands each key with all its values to the caller.
 */
import { compareCanonicalKeys } from '@mrm/core';
import { RecordFileWriter, RecordReader, type Segment } from './record-file.js';

/** The index of the reader with the smallest current key (few readers: a scan beats a heap). */
function smallest(readers: readonly RecordReader[]): number {
  let best = 0;
  for (let i = 1; i < readers.length; i++) {
    if (compareCanonicalKeys((readers[i] as RecordReader).key, (readers[best] as RecordReader).key) < 0) best = i;
  }
  return best;
}

/** Readers positioned on their first record; empty segments are left out. */
function openReaders(segments: readonly Segment[]): RecordReader[] {
  const readers: RecordReader[] = [];
  for (const s of segments) {
    const r = new RecordReader(s);
    if (r.next()) readers.push(r);
  }
  return readers;
}

/** The records of the merged runs, in key order (values are copies); stopping early closes the files. */
export function* mergedRecords(segments: readonly Segment[]): Generator<[string, Uint8Array], void, undefined> {
  const readers = openReaders(segments);
  try {
    while (readers.length > 0) {
      const i = smallest(readers);
      const r = readers[i] as RecordReader;
      yield [r.key, Buffer.from(r.value)];
      if (!r.next()) readers.splice(i, 1);
    }
  } finally {
    for (const r of readers) r.close();
  }
}

/** Calls `fn` once per record of the merged runs, in key order (values are copies). */
export function forEachMerged(segments: readonly Segment[], fn: (key: string, value: Uint8Array) => void): void {
  for (const [k, v] of mergedRecords(segments)) fn(k, v);
}

/** Calls `fn` once per key of the merged runs, in key order, with all its values. */
export function forEachGroup(segments: readonly Segment[], fn: (key: string, values: Uint8Array[]) => void): void {
  let key: string | undefined;
  let values: Uint8Array[] = [];
  forEachMerged(segments, (k, v) => {
    if (k !== key) {
      if (key !== undefined) fn(key, values);
      key = k;
      values = [];
    }
    values.push(v);
  });
  if (key !== undefined) fn(key, values);
}

/**
 * Merges runs `factor` at a time into new files (named by `nextPath`) until at most `factor`
 * remain, and returns those; the smallest runs are merged first, as Hadoop's merge queue does.
 */
export function mergeDown(segments: readonly Segment[], factor: number, nextPath: () => string): Segment[] {
  const size = (s: Segment) => s.end - s.start;
  let runs = [...segments];
  while (runs.length > factor) {
    runs.sort((a, b) => size(a) - size(b));
    const writer = RecordFileWriter.create(nextPath());
    forEachMerged(runs.slice(0, factor), (k, v) => writer.write(k, v));
    const merged = writer.endSegment();
    writer.close();
    runs = [...runs.slice(factor), merged];
  }
  return runs;
}
