/**
 * Response bytes sent to each client address (a logged size of `-` counts as 0). Lines the parser
 * cannot read are skipped here; status-per-hour counts them under `"malformed"`.
 */
import { aggregates, defineJob } from '@mrm/core';
import { parseLogLine } from './parse.js';

export default defineJob({
  name: 'bytes-per-client',
  description: 'response bytes per client address',
  map(line: string, emit) {
    const entry = parseLogLine(line);
    if (entry !== undefined) emit(entry.client, entry.bytes);
  },
  ...aggregates.sum(),
});
