/**
 * The ten most requested paths (query strings removed), all under the single key `"top-urls"`, as
 * `[[path, count], …]`, most requested first (ties by path).
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
  // topK is exact while a key has at most `capacity` distinct items (default 1,000). Scanners
  // probe many one-off paths, so allow plenty: the top ten stay exact across incremental runs.
  ...aggregates.topK(10, { capacity: 20_000 }),
});
