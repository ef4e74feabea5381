/** `mrm down`: stop the local cluster `mrm up` started. Harmless when none runs. */
import { stopLocalCluster } from '../cluster/local-cluster.js';
import { say } from '../report.js';

/** Options of `mrm down`. */
export interface DownCommandOptions {
  readonly dir: string;
}

/** Runs `mrm down`: progress and outcome on stderr, exit 0 also when there was nothing to stop. */
export async function downCommand(options: DownCommandOptions): Promise<void> {
  const report = await stopLocalCluster(options.dir);
  if (report === undefined || report.stopped.length === 0) {
    say(`mrm: no cluster running in ${options.dir}`);
    return;
  }
  const forced = report.killed.length > 0 ? ` (killed after the grace period: ${report.killed.join(', ')})` : '';
  say(`mrm: stopped the cluster in ${options.dir}: ${report.stopped.join(', ')}${forced}`);
}
