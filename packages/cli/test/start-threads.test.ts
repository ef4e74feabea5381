/**
 * The embedded engine starts every map thread once planning has found a second batch to map, so
 * the threads load while the rest of the input is planned; a run of one batch keeps to one thread
 * (decisions/0032, 0057).
 */
import type { SourceOutcome } from '@mrm/coordinator';
import { describe, expect, it } from 'vitest';
import { startThreadsForTasks } from '../src/embedded-engine.js';

const source = (included: number): SourceOutcome => ({
  displayPath: 'in.txt',
  batches: included,
  included,
  lines: included * 10,
});

describe('startThreadsForTasks', () => {
  it('starts the threads once the planned sources hold two batches, and passes every outcome on', () => {
    let starts = 0;
    const seen: SourceOutcome[] = [];
    const onSource = startThreadsForTasks({ startAll: () => void starts++ }, (o) => void seen.push(o));
    onSource(source(0));
    onSource(source(1));
    expect(starts).toBe(0);
    onSource(source(1));
    expect(starts).toBe(1);
    expect(seen.map((o) => o.included)).toEqual([0, 1, 1]);
  });

  it('starts them after the first source when it alone holds two batches', () => {
    let starts = 0;
    const onSource = startThreadsForTasks({ startAll: () => void starts++ }, undefined);
    onSource(source(2));
    expect(starts).toBe(1);
  });

  it('never starts them for a run of one batch', () => {
    let starts = 0;
    const onSource = startThreadsForTasks({ startAll: () => void starts++ }, undefined);
    onSource(source(1));
    onSource(source(0));
    expect(starts).toBe(0);
  });
});
