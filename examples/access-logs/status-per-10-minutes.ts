/**
 * Requests per status in 10-minute windows of request time: key
 * `["2015-05-17T10:00:00.000Z", 200]` → 312. Lines the parser cannot read are counted under
 * `["1970-01-01T00:00:00.000Z", "malformed"]`, so nothing is dropped silently.
 */
import { aggregates, defineJob } from '@mrm/core';
import { entryOf, requestTime } from './window-time.js';

export default defineJob({
  name: 'status-per-10-minutes',
  description: 'requests per status in 10-minute windows; unparseable lines under "malformed"',
  window: { time: requestTime, size: '10m' },
  map(line: string, emit) {
    const entry = entryOf(line);
    emit(entry === undefined ? 'malformed' : entry.status, 1);
  },
  ...aggregates.count(),
});
