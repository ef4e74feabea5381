/**
 * The run's gate issues the partitions' checkpoint writes of a version together, once the last
 * partition hands its write in, versions in order, and everything held once the run stops.
 */
import { describe, expect, it } from 'vitest';
import { VersionWriteGate } from '../src/version-write-gate.js';

/** A gate over `partitions` and the order its writes were issued in ("version/partition"). */
function gated(partitions: number) {
  const gate = new VersionWriteGate(partitions);
  const issued: string[] = [];
  const hand = (version: number, partition: number, fail = false) =>
    gate.issue(version, async () => {
      issued.push(`${version}/${partition}`);
      if (fail) throw new Error(`write ${version}/${partition} failed`);
    });
  return { gate, issued, hand };
}

describe('VersionWriteGate', () => {
  it("holds a version's writes until every partition handed its write in, then issues them in one turn", async () => {
    const { issued, hand } = gated(3);
    const first = [hand(1, 0), hand(1, 1)];
    await Promise.resolve();
    expect(issued).toEqual([]);
    const second = hand(2, 0);
    const last = hand(1, 2);
    // Issued synchronously by the last one in: one event turn, so one LMDB transaction.
    expect(issued).toEqual(['1/0', '1/1', '1/2']);
    await Promise.all([...first, last]);
    expect(issued).not.toContain('2/0');
    await Promise.all([hand(2, 1), hand(2, 2), second]);
    expect(issued.slice(3)).toEqual(['2/0', '2/1', '2/2']);
  });

  it('settles each write as its own write settles: a failed one rejects only its caller', async () => {
    const { hand } = gated(2);
    const results = await Promise.allSettled([hand(1, 0, true), hand(1, 1)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
  });

  it('issues what it holds when the run stops, oldest version first, and every later write at once', async () => {
    const { gate, issued, hand } = gated(3);
    const held = [hand(2, 0), hand(1, 0), hand(1, 1)];
    gate.release();
    expect(issued).toEqual(['1/0', '1/1', '2/0']);
    await Promise.all(held);
    await hand(3, 1);
    expect(issued).toEqual(['1/0', '1/1', '2/0', '3/1']);
  });

  it('issues at once with one partition', async () => {
    const { issued, hand } = gated(1);
    const write = hand(1, 0);
    expect(issued).toEqual(['1/0']);
    await write;
  });
});
