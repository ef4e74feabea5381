/**
 * Requests per [status, UTC hour], e.g. `[404, "2015-05-17T10"]` → 12. Every input line counts
 * somewhere: a line the parser cannot read is counted under the key `"malformed"`, so the values
 * of the result add up to the number of input lines and nothing is dropped silently.
 */
import { aggregates, defineJob } from '@mrm/core';
import { parseLogLine } from './parse.js';

export default defineJob({
  name: 'status-per-hour',
  description: 'requests per [status, UTC hour]; unparseable lines under "malformed"',
  map(line: string, emit) {
    const entry = parseLogLine(line);
    if (entry === undefined) emit('malformed', 1);
    else emit([entry.status, entry.hour], 1);
  },
  ...aggregates.count(),
});
