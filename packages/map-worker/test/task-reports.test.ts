import type { MessageBody, TaskDoneMessage } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { TaskReports } from '../src/task-reports.js';

function done(taskId: string, run = 1): Omit<TaskDoneMessage, 'v'> {
  return { type: 'task-done', jobId: 'j', run, taskId, attempt: 1, records: 3, skipped: 0, from: 'map-0' };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('TaskReports', () => {
  it('reports the tasks of a run finished in one event-loop turn in one tasks-done, in order', async () => {
    const sent: MessageBody[] = [];
    const reports = new TaskReports((b) => sent.push(b));
    reports.done(done('t0'));
    reports.done(done('t1'));
    reports.done(done('t0', 2));
    expect(sent).toEqual([]);
    await turn();
    expect(sent).toEqual([
      {
        type: 'tasks-done',
        jobId: 'j',
        run: 1,
        from: 'map-0',
        tasks: [
          { taskId: 't0', attempt: 1, records: 3, skipped: 0 },
          { taskId: 't1', attempt: 1, records: 3, skipped: 0 },
        ],
      },
      done('t0', 2),
    ]);
  });

  it('keeps a single task a task-done, and sends pending ones before any other report', async () => {
    const sent: MessageBody[] = [];
    const reports = new TaskReports((b) => sent.push(b));
    reports.done(done('t0'));
    await turn();
    expect(sent).toEqual([done('t0')]);
    reports.done(done('t1'));
    const failed: MessageBody = {
      type: 'owners-unknown',
      jobId: 'j',
      run: 1,
      taskId: 't2',
      attempt: 1,
      from: 'map-0',
    };
    reports.other(failed);
    expect(sent.slice(1)).toEqual([done('t1'), failed]);
    await turn();
    expect(sent).toHaveLength(3);
  });
});
