/** `mrm cancel <job-id>`: a queued job leaves the queue; a running one stops at its last committed version. */
import { encodeApi, expectReply } from '@mrm/core';
import { type ClusterConnectOptions, connectCluster } from '../cluster/connect.js';
import { requestCoordinator } from '../cluster/coordinator-request.js';
import { say } from '../report.js';

/** How long the coordinator may take to stop a running job (its rollback included). */
const CANCEL_TIMEOUT_MS = 120_000;

/** Runs `mrm cancel`. */
export async function cancelCommand(jobId: string, options: ClusterConnectOptions): Promise<void> {
  const transport = await connectCluster(options, 'mrm-cancel');
  try {
    const reply = await requestCoordinator(transport, encodeApi({ type: 'cancel', jobId }), CANCEL_TIMEOUT_MS);
    const job = expectReply(reply, 'status-reply').jobs[0];
    const last = job?.versions?.at(-1);
    say(`mrm: job ${jobId} cancelled${last !== undefined ? ` (its result stays at version ${last})` : ''}`);
  } finally {
    await transport.close();
  }
}
