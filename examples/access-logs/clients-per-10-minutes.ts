/**
 * Distinct client addresses per 10-minute window of request time (approximate, HyperLogLog):
 * key `["2015-05-17T10:00:00.000Z", "clients"]` → about 42. Run it with `--follow` on a live log
 * to keep "distinct visitors in the last 10 minutes" current.
 */
import { aggregates, defineJob } from '@mrm/core';
import { entryOf, requestTime } from './window-time.js';

export default defineJob({
  name: 'clients-per-10-minutes',
  description: 'distinct clients per 10-minute window (HyperLogLog)',
  window: { time: requestTime, size: '10m' },
  map(line: string, emit) {
    const entry = entryOf(line);
    if (entry !== undefined) emit('clients', entry.client);
  },
  ...aggregates.approxDistinct(),
});
