/** How the CLI words salting and balance, in the run summary and in `mrm status`. */
import type { SkewStatus } from '@mrm/core';
import { thousands } from './report.js';

/** `"the"×8, "a"×4` — the salted hot keys with their factors. */
export function hotKeysText(skew: SkewStatus): string {
  return skew.hotKeys.map((h) => `${h.key}×${h.factor}`).join(', ');
}

/** The run summary's words on salting: the hot keys, or why nothing was salted (empty: nothing to say). */
export function saltSummary(skew: SkewStatus | undefined): string {
  if (skew === undefined) return '';
  const parts: string[] = [];
  if (skew.hotKeys.length > 0) parts.push(`hot keys salted: ${hotKeysText(skew)}`);
  if (skew.warning !== undefined) parts.push(`warning: ${skew.warning}`);
  return parts.join('; ');
}

/** Lines of `mrm status` about one job's load per merge worker and salting. */
export function skewLines(jobId: string, skew: SkewStatus): string[] {
  const loads = Object.entries(skew.pairsByWorker)
    .map(([w, n]) => `${w}=${thousands(n)}`)
    .join(' ');
  const lines = [
    `${jobId}: balance ${skew.balance.toFixed(2)} (pairs reduced per merge worker: ${loads}); salt ${skew.mode}`,
  ];
  lines.push(
    skew.hotKeys.length > 0
      ? `  hot keys (×factor): ${hotKeysText(skew)} in ${thousands(skew.saltedBatches)} batches`
      : '  hot keys: none salted',
  );
  if (skew.warning !== undefined) lines.push(`  warning: ${skew.warning}`);
  return lines;
}
