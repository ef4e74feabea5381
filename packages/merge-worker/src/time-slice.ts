/**
 * Slices of the merge worker's main thread. Merging a batch and hashing a cut are long
 * synchronous stretches chained by microtasks only, so while they ran no frame was received and
 * no credit went back: the map worker waited for credit and the push ran at the merge's pace
 * (docs/benchmarks.md, push). Code on those paths asks {@link sliceDue} as it goes and, when the
 * current slice has run {@link SLICE_MS}, awaits {@link nextSlice}: one turn of the event loop, in
 * which frames that arrived meanwhile are received, buffered and credited.
 *
 * One slice clock per thread (each thread has its own event loop), shared by every partition.
 */

/** Longest stretch, in milliseconds, before the event loop gets a turn. */
export const SLICE_MS = 4;

/** Calls of {@link sliceDue} between two reads of the clock (one call per key merged or hashed). */
const CHECK_EVERY = 16;

let sliceStarted = performance.now();
let calls = 0;

/** True when the current slice has run its time (reads the clock every {@link CHECK_EVERY} calls). */
export function sliceDue(): boolean {
  if (++calls < CHECK_EVERY) return false;
  calls = 0;
  return performance.now() - sliceStarted >= SLICE_MS;
}

/** Gives the event loop a turn (I/O first: `setImmediate`), then starts a new slice. */
export async function nextSlice(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  sliceStarted = performance.now();
  calls = 0;
}

/** True when the current slice has run its time, reading the clock now (for coarse steps). */
export function sliceOver(): boolean {
  return performance.now() - sliceStarted >= SLICE_MS;
}
