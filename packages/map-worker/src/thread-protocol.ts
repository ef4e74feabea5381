/** Messages between the thread pool and its worker threads (structured clone, not the wire). */
import type { MapTask, WireError } from '@mrm/core';
import type { BatchOutput, MapTaskTotals } from './map-task-runner.js';

/** Pool → thread. */
export type ToThread =
  | { readonly kind: 'task'; readonly task: MapTask; readonly workerId: string }
  /** The previous batch was accepted; produce the next. */
  | { readonly kind: 'ack' }
  | { readonly kind: 'abort' };

/** Thread → pool. */
export type FromThread =
  | { readonly kind: 'batch'; readonly output: BatchOutput }
  | { readonly kind: 'done'; readonly totals: MapTaskTotals }
  | { readonly kind: 'error'; readonly error: WireError };
