/**
 * Entry of a map worker thread: loads the job bundle named by each task (cached by hash), runs
 * the task, and posts each batch's frames to the pool, waiting for an ack before the next batch.
 */
import { pathToFileURL } from 'node:url';
import { parentPort } from 'node:worker_threads';
import { ErrorCode, jobFromModule, MrmError, type ResolvedJob, toWireError } from '@mrm/core';
import type { BatchOutput } from './map-task-runner.js';
import { runMapTask } from './map-task-runner.js';
import type { FromThread, ToThread } from './thread-protocol.js';

const port = parentPort;
if (port === null) throw new Error('map-thread must run in a worker thread');

const jobs = new Map<string, Promise<ResolvedJob>>();
let waitingAck: (() => void) | undefined;
let abort: AbortController | undefined;

function loadJob(hash: string, path: string | undefined, name: string): Promise<ResolvedJob> {
  let job = jobs.get(hash);
  if (job === undefined) {
    if (path === undefined) throw new MrmError(ErrorCode.JobLoad, `job '${name}' has no local bundle path`);
    job = import(pathToFileURL(path).href).then((m) => jobFromModule(m, name));
    jobs.set(hash, job);
  }
  return job;
}

function post(message: FromThread, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

/** Copies frames into their own buffers so they can be transferred, not cloned with their slab. */
function detach(output: BatchOutput): { output: BatchOutput; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const own = (b: Uint8Array) => {
    // A packed frame has a buffer of its own (encodePackedFrame): transferred as it is.
    if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !transfer.includes(b.buffer as ArrayBuffer)) {
      transfer.push(b.buffer as ArrayBuffer);
      return b;
    }
    // Buffer#slice is a view; copy into a buffer of its own.
    const copy = new Uint8Array(b.byteLength);
    copy.set(b);
    transfer.push(copy.buffer as ArrayBuffer);
    return copy;
  };
  return {
    output: {
      ...output,
      partitions: output.partitions.map((p) => ({ ...p, frames: p.frames.map(own) })),
      markers: output.markers.map(own),
    },
    transfer,
  };
}

port.on('message', (message: ToThread) => {
  if (message.kind === 'ack') {
    const resume = waitingAck;
    waitingAck = undefined;
    resume?.();
    return;
  }
  if (message.kind === 'abort') {
    abort?.abort(new MrmError(ErrorCode.Aborted, 'map task aborted'));
    waitingAck?.();
    return;
  }
  const { task, workerId } = message;
  abort = new AbortController();
  const signal = abort.signal;
  void (async () => {
    try {
      const job = await loadJob(task.job.bundleHash, task.job.bundlePath, task.job.name);
      const lastSeq = task.split.batches.at(-1)?.seq;
      const totals = await runMapTask(
        task,
        job,
        workerId,
        (output) =>
          new Promise<void>((resolve) => {
            const { output: owned, transfer } = detach(output);
            post({ kind: 'batch', output: owned }, transfer);
            // Within a task, wait for the pool to accept a batch before making the next one; the
            // task's last batch needs no wait, so the thread moves on to its next task at once.
            if (output.seq === lastSeq) resolve();
            else waitingAck = resolve;
          }),
        signal,
      );
      post({ kind: 'done', totals });
    } catch (e) {
      post({ kind: 'error', error: toWireError(e) });
    }
  })();
});
