/**
 * Distinct client addresses per 10-minute window, for an endless log: the watermark (the latest
 * request time merged minus 2 minutes of allowed lateness) closes windows, and a window leaves the
 * state an hour after it closed, so the state holds about the last 70 minutes whatever the log's
 * length. Lines logged out of order by up to 2 minutes land in their window; later ones are counted
 * as late (and listed by `mrm dead-letters` with `--on-error skip`). Lines the parser cannot read
 * carry no time (put at the Unix epoch by `requestTime`), so they are counted as late too.
 */
import { aggregates, defineJob } from '@mrm/core';
import { entryOf, requestTime } from './window-time.js';

export default defineJob({
  name: 'recent-clients',
  description: 'distinct clients per 10-minute window, the last hour kept (HyperLogLog)',
  window: { time: requestTime, size: '10m', lateness: '2m', retain: '1h' },
  map(line: string, emit) {
    const entry = entryOf(line);
    if (entry !== undefined) emit('clients', entry.client);
  },
  ...aggregates.approxDistinct(),
});
