/** What the three roles (coordinator, map worker, merge worker) share: a lifecycle and run keys. */

/**
 * Lifecycle of a role: `created` (constructed, no I/O yet) → `running` (after `start()`) →
 * `draining` (takes no new work, finishes what it has) → `closed` (every run settled, every timer
 * cleared, subscriptions gone).
 */
export type RoleState = 'created' | 'running' | 'draining' | 'closed';

/**
 * The key of one run of a job (`<jobId>/<run>`): how roles file their runs and route messages to
 * them. Job ids never contain `/` (they are job names with a suffix), so keys never collide.
 */
export function runKey(jobId: string, run: number): string {
  return `${jobId}/${run}`;
}
