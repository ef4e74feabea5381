/**
 * Partition owners in map tasks (decisions/0058): the coordinator sends them with the first task
 * each map worker gets in a run, the same key with every task, and again with a task whose map
 * worker answered `owners-unknown` or that goes again after messages may have been lost.
 */
import { type MessageBody, ownersKeyOf } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { ofType, type RunHarness, startRun, taskDone } from './run-harness.js';

/** Per map task sent: `t<i>#<attempt>@<worker>` and whether it carried the owners. */
function sent(h: RunHarness): string[] {
  return h.maps.flatMap((w) =>
    ofType(w.received, 'map-task').map(
      (m) => `${m.taskId}#${m.attempt}@${w.id}${m.owners !== undefined ? '+owners' : ''}`,
    ),
  );
}

function ownersUnknown(task: number, attempt: number, from: string): MessageBody {
  return { type: 'owners-unknown', jobId: 'wc-1', run: 1, taskId: `t${task}`, attempt, from };
}

describe('partition owners in map tasks', () => {
  it('go with the first task to each map worker only; every task has the key of those owners', async () => {
    const h = await startRun({ batches: 6, mapWorkers: 2, mergeWorkers: 2, settings: { maxTasksInFlight: 6 } });
    expect(sent(h)).toEqual([
      't0#1@map-0+owners',
      't2#1@map-0',
      't4#1@map-0',
      't1#1@map-1+owners',
      't3#1@map-1',
      't5#1@map-1',
    ]);
    const tasks = h.maps.flatMap((w) => ofType(w.received, 'map-task'));
    const owners = tasks[0]?.owners;
    expect(owners).toEqual(['merge-0', 'merge-1', 'merge-0', 'merge-1']);
    for (const t of tasks) expect(t.ownersKey).toBe(ownersKeyOf(owners ?? []));
    await h.run.abandon('test over');
  });

  it('go again with a task, as a new attempt, when its map worker answers owners-unknown', async () => {
    const h = await startRun({ batches: 3, mapWorkers: 1, settings: { maxTasksInFlight: 3 } });
    expect(sent(h)).toEqual(['t0#1@map-0+owners', 't1#1@map-0', 't2#1@map-0']);
    h.report(ownersUnknown(1, 1, 'map-0'));
    await h.settle();
    expect(sent(h).at(-1)).toBe('t1#2@map-0+owners');
    // An answer about an attempt that is not current, or a task done, sends nothing.
    h.report(ownersUnknown(1, 1, 'map-0'));
    h.report(taskDone(2));
    h.report(ownersUnknown(2, 1, 'map-0'));
    await h.settle();
    expect(sent(h)).toHaveLength(4);
    await h.run.abandon('test over');
  });

  it('go again with every task sent again after a stall (the one that carried them may be lost)', async () => {
    const h = await startRun({ batches: 2, mapWorkers: 1, settings: { stallTimeoutMs: 1_000 } });
    await h.clock.advance(1_100);
    expect(sent(h)).toEqual(['t0#1@map-0+owners', 't1#1@map-0', 't0#2@map-0+owners', 't1#2@map-0']);
    await h.run.abandon('test over');
  });
});

describe('tasks-done (task-done reports coalesced by a map worker)', () => {
  it('counts each current attempt once and fills the window once for all', async () => {
    const h = await startRun({ batches: 5, mapWorkers: 1, settings: { maxTasksInFlight: 2 } });
    expect(sent(h)).toEqual(['t0#1@map-0+owners', 't1#1@map-0']);
    const outcome = (task: number, attempt = 1) => ({ taskId: `t${task}`, attempt, records: 10, skipped: 0 });
    // t1 twice and an attempt that was never sent: t0 and t1 count, once each.
    h.report({
      type: 'tasks-done',
      jobId: 'wc-1',
      run: 1,
      from: 'map-0',
      tasks: [outcome(0), outcome(1), outcome(1), outcome(1, 7)],
    });
    await h.settle();
    expect(sent(h)).toEqual(['t0#1@map-0+owners', 't1#1@map-0', 't2#1@map-0', 't3#1@map-0']);
    expect(h.run.snapshot().lagBatches).toBe(4);
    await h.run.abandon('test over');
  });
});
