/**
 * A Hadoop-style map task, run in its own process: reads its split, calls `map` for every record,
 * serializes each pair into a sort buffer, and when the buffer is 80 % full sorts it by
 * (partition, key), runs the combiner over each key and spills it to a local file. At the end the
 * spills are merged (10 at a time, the combiner again when there were at least 3) into one
 * output file with one sorted segment per reducer, which the reducers fetch.
 */
import { renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  canonicalKey,
  compareCanonicalKeys,
  decode,
  ErrorCode,
  encode,
  errorMessage,
  keyOf,
  MrmError,
  partitionOf,
  type ResolvedJob,
} from '@mrm/core';
import { forEachRecord } from '@mrm/input';
import { callUser, combinerOf } from '../job-functions.js';
import { readSplitText } from '../read-split.js';
import { RecordFileWriter, type Segment, writeSegmentIndex } from '../record-file.js';
import { forEachGroup, forEachMerged, mergeDown } from '../sorted-merge.js';
import { RECORD_METADATA_BYTES } from './hadoop-options.js';
import { MAP_OUTPUT_FILE, MAP_OUTPUT_INDEX, type MapTaskSpec, type TaskCounters } from './task-spec.js';

/** The map side's sort buffer: serialized pairs with their partition, spilled when full enough. */
class SortBuffer {
  private keys: string[] = [];
  private values: Uint8Array[] = [];
  private partitions: number[] = [];
  private bytes = 0;
  readonly spills: Array<{ path: string; segments: Segment[] }> = [];
  outputRecords = 0;

  constructor(
    private readonly job: ResolvedJob,
    private readonly spec: MapTaskSpec,
  ) {}

  add(key: unknown, value: unknown): void {
    const ck = canonicalKey(key);
    const bytes = encode(value);
    this.keys.push(ck);
    this.values.push(bytes);
    this.partitions.push(partitionOf(ck, this.spec.options.reducers));
    this.bytes += ck.length + bytes.byteLength + RECORD_METADATA_BYTES;
    this.outputRecords++;
    const { sortBufferBytes, spillPercent } = this.spec.options;
    if (this.bytes >= sortBufferBytes * spillPercent) this.spill();
  }

  /** Sorts what is buffered by (partition, key), combines each key and writes a spill file. */
  spill(): void {
    if (this.keys.length === 0) return;
    const { keys, values, partitions } = this;
    const order = Array.from(keys, (_, i) => i);
    order.sort(
      (a, b) =>
        (partitions[a] as number) - (partitions[b] as number) ||
        compareCanonicalKeys(keys[a] as string, keys[b] as string),
    );
    const path = join(this.spec.dir, `spill${this.spills.length}.out`);
    const writer = RecordFileWriter.create(path);
    const combine = combinerOf(this.job);
    const segments: Segment[] = [];
    let i = 0;
    for (let p = 0; p < this.spec.options.reducers; p++) {
      while (i < order.length && partitions[order[i] as number] === p) {
        const ck = keys[order[i] as number] as string;
        let j = i;
        while (j < order.length && keys[order[j] as number] === ck) j++;
        if (combine === undefined) {
          for (let k = i; k < j; k++) writer.write(ck, values[order[k] as number] as Uint8Array);
        } else {
          const group: unknown[] = [];
          for (let k = i; k < j; k++) group.push(decode(values[order[k] as number] as Uint8Array));
          writer.write(ck, encode(callUser(this.job, 'combine', ck, () => combine(keyOf(ck), group))));
        }
        i = j;
      }
      segments.push(writer.endSegment());
    }
    writer.close();
    this.spills.push({ path, segments });
    this.keys = [];
    this.values = [];
    this.partitions = [];
    this.bytes = 0;
  }

  /** Spills the rest and merges the spills into the task's output file and index. */
  finish(): void {
    this.spill();
    const out = join(this.spec.dir, MAP_OUTPUT_FILE);
    const index = join(this.spec.dir, MAP_OUTPUT_INDEX);
    const only = this.spills.length === 1 ? this.spills[0] : undefined;
    if (only !== undefined) {
      renameSync(only.path, out);
      writeSegmentIndex(
        index,
        only.segments.map((s) => ({ ...s, path: out })),
      );
      return;
    }
    const { reducers, sortFactor, minSpillsForCombine } = this.spec.options;
    const combine = this.spills.length >= minSpillsForCombine ? combinerOf(this.job) : undefined;
    const writer = RecordFileWriter.create(out);
    const segments: Segment[] = [];
    let pass = 0;
    for (let p = 0; p < reducers; p++) {
      const runs = mergeDown(
        this.spills.map((s) => s.segments[p] as Segment),
        sortFactor,
        () => join(this.spec.dir, `merge${pass++}.out`),
      );
      if (combine === undefined) forEachMerged(runs, (k, v) => writer.write(k, v));
      else
        forEachGroup(runs, (k, vs) =>
          writer.write(
            k,
            encode(
              callUser(this.job, 'combine', k, () =>
                combine(
                  keyOf(k),
                  vs.map((v) => decode(v)),
                ),
              ),
            ),
          ),
        );
      segments.push(writer.endSegment());
    }
    writer.close();
    writeSegmentIndex(index, segments);
  }
}

function mapError(job: ResolvedJob, source: string, line: number, error: unknown): MrmError {
  if (error instanceof MrmError) return error;
  return new MrmError(
    ErrorCode.UserCode,
    `map of job '${job.name}' threw at ${source}:${line}: ${errorMessage(error)}`,
    {
      cause: error,
    },
  );
}

/** Runs one map task to its output file. */
export async function runMapTask(job: ResolvedJob, spec: MapTaskSpec): Promise<TaskCounters> {
  const buffer = new SortBuffer(job, spec);
  const emit = (key: unknown, value: unknown) => buffer.add(key, value);
  const text = readSplitText(spec.split);
  const pending: Promise<void>[] = [];
  const batchId = `split-${spec.task}`;
  const source = spec.split.displayPath;
  // Line numbers are counted from the split's first line: a split does not know how many lines
  // come before it (Hadoop hands map the byte offset instead). 2 keeps a later split's first
  // character from being taken for a byte order mark.
  const firstLine = spec.split.start === 0 ? 1 : 2;
  const records = forEachRecord(text, job.input, firstLine, source, (record, line) => {
    let r: void | Promise<void>;
    try {
      r = job.map(record, emit as never, { source, line, batchId });
    } catch (error) {
      throw mapError(job, source, line, error);
    }
    if (r instanceof Promise)
      pending.push(r.catch((error: unknown) => Promise.reject(mapError(job, source, line, error))));
  });
  await Promise.all(pending);
  buffer.finish();
  return {
    records,
    outputRecords: buffer.outputRecords,
    spills: buffer.spills.length,
    bytesWritten: statSync(join(spec.dir, MAP_OUTPUT_FILE)).size,
  };
}
