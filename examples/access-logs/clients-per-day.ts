/**
 * Distinct client addresses per UTC day. Incremental runs keep each day's set, so a client seen
 * on the same day in two different log files is counted once. Lines the parser cannot read are
 * skipped here; status-per-hour counts them under `"malformed"`.
 */
import { aggregates, defineJob } from '@mrm/core';
import { parseLogLine } from './parse.js';

export default defineJob({
  name: 'clients-per-day',
  description: 'distinct client addresses per UTC day',
  map(line: string, emit) {
    const entry = parseLogLine(line);
    if (entry !== undefined) emit(entry.day, entry.client);
  },
  ...aggregates.distinct(),
});
