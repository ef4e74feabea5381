/**
 * The ten most requested paths (query strings removed), all under the single key `"top-urls"`.
 * A request line that is not HTTP (empty, TLS or SSH bytes sent to the HTTP port) counts as the
 * path `"(not http)"`, so scanners stay visible. Lines the parser cannot read are skipped here;
 * status-per-hour counts them under `"malformed"`.
 */
import { aggregates, defineJob } from '@mrm/core';
import { parseLogLine } from './parse.js';

/** What a non-HTTP request line counts as. */
const NOT_HTTP = '(not http)';

export default defineJob({
  name: 'top-urls',
  description: 'the 10 most requested paths',
  map(line: string, emit) {
    const entry = parseLogLine(line);
    if (entry !== undefined) emit('top-urls', entry.path ?? NOT_HTTP);
  },
  ...aggregates.topK(10),
});
