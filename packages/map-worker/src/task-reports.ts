/**
 * A map worker's reports to the coordinator, with `task-done`s coalesced per event-loop turn
 * (decisions/0058): every task of a run that finishes before the turn ends goes into one
 * `tasks-done` (a single one stays a `task-done`), so the coordinator handles one message for a
 * burst of small tasks, as `merged-through` does for merges (decisions/0030). No timer: the
 * flush runs in the same turn's `setImmediate`. Any other report flushes what is pending first,
 * so reports keep the order they were made in.
 */
import { type MessageBody, runKey, type TaskDoneMessage, type TaskOutcome } from '@mrm/core';

interface PendingRun {
  readonly jobId: string;
  readonly run: number;
  readonly from: string;
  readonly tasks: TaskOutcome[];
}

/** Publishes a map worker's reports, coalescing its task-done reports. */
export class TaskReports {
  private pending = new Map<string, PendingRun>();
  private scheduled = false;

  constructor(
    private readonly send: (body: MessageBody) => void,
    /** Called when a scheduled flush fails (the transport closed meanwhile). */
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** A task finished: reported at the end of this event-loop turn with the others finished in it. */
  done(report: Omit<TaskDoneMessage, 'v'>): void {
    const { type: _type, jobId, run, from, ...outcome } = report;
    const key = runKey(jobId, run);
    let entry = this.pending.get(key);
    if (entry === undefined) {
      entry = { jobId, run, from, tasks: [] };
      this.pending.set(key, entry);
    }
    entry.tasks.push(outcome);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      try {
        this.flush();
      } catch (e) {
        this.onError(e);
      }
    });
  }

  /** Any other report: sent at once, after the pending task-done reports. */
  other(body: MessageBody): void {
    this.flush();
    this.send(body);
  }

  /** Sends the pending task-done reports now. */
  flush(): void {
    this.scheduled = false;
    if (this.pending.size === 0) return;
    const runs = this.pending;
    this.pending = new Map();
    for (const { jobId, run, from, tasks } of runs.values()) {
      const [only] = tasks;
      if (tasks.length === 1 && only !== undefined) this.send({ type: 'task-done', jobId, run, from, ...only });
      else this.send({ type: 'tasks-done', jobId, run, from, tasks });
    }
  }
}
