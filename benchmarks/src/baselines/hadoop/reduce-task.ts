/**
 * A Hadoop-style reduce task, run in its own process: pulls its partition's segment from every
 * map task's output file (`parallelCopies` at a time, onto its local disk, as the shuffle copies
 * over HTTP), merges them 10 at a time into sorted order, calls `reduce` once per key with all its
 * values (and, for an incremental job, `merge` into nothing: the whole result is recomputed), and
 * writes its output part into its attempt directory for the driver to commit.
 */
import { createReadStream, createWriteStream, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { decode, encode, keyOf, type ResolvedJob } from '@mrm/core';
import { callUser, resultFromScratch } from '../job-functions.js';
import { RecordFileWriter, readSegmentIndex, type Segment } from '../record-file.js';
import { forEachGroup, mergeDown } from '../sorted-merge.js';
import { MAP_OUTPUT_FILE, MAP_OUTPUT_INDEX, partName, type ReduceTaskSpec, type TaskCounters } from './task-spec.js';

/** Copies one map output's segment for this reducer to a local file; resolves with that segment. */
async function fetchSegment(mapDir: string, partition: number, target: string): Promise<Segment> {
  const segment = readSegmentIndex(join(mapDir, MAP_OUTPUT_FILE), join(mapDir, MAP_OUTPUT_INDEX))[partition];
  if (segment === undefined) throw new Error(`${mapDir}: map output has no segment for reducer ${partition}`);
  if (segment.end > segment.start) {
    await pipeline(
      createReadStream(segment.path, { start: segment.start, end: segment.end - 1 }),
      createWriteStream(target),
    );
  }
  return { path: target, start: 0, end: segment.end - segment.start };
}

/** Fetches every map output's segment, at most `parallel` at a time. */
async function shuffle(spec: ReduceTaskSpec): Promise<Segment[]> {
  const fetched: Segment[] = new Array(spec.mapOutputs.length);
  let next = 0;
  const copier = async () => {
    for (let i = next++; i < spec.mapOutputs.length; i = next++) {
      fetched[i] = await fetchSegment(spec.mapOutputs[i] as string, spec.task, join(spec.dir, `map_${i}.seg`));
    }
  };
  await Promise.all(Array.from({ length: Math.min(spec.options.parallelCopies, spec.mapOutputs.length) }, copier));
  return fetched;
}

/** Runs one reduce task to its output part in the attempt directory. */
export async function runReduceTask(job: ResolvedJob, spec: ReduceTaskSpec): Promise<TaskCounters> {
  const fetched = await shuffle(spec);
  let pass = 0;
  const runs = mergeDown(fetched, spec.options.sortFactor, () => join(spec.dir, `merge${pass++}.out`));
  mkdirSync(spec.attemptDir, { recursive: true });
  const out = join(spec.attemptDir, partName(spec.task));
  const writer = RecordFileWriter.create(out);
  let records = 0;
  forEachGroup(runs, (ck, values) => {
    records += values.length;
    const decoded = values.map((v) => decode(v));
    const result = callUser(job, job.merge !== undefined ? 'reduce/merge' : 'reduce', ck, () =>
      resultFromScratch(job, keyOf(ck), decoded),
    );
    if (result !== undefined) writer.write(ck, encode(result));
  });
  const outputRecords = writer.records;
  writer.close();
  return { records, outputRecords, spills: pass, bytesWritten: statSync(out).size };
}
