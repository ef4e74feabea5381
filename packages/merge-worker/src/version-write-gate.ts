/**
 * Issues the checkpoint writes of one version of all of a run's partitions together: each
 * partition hands in its write when it starts its checkpoint, and the last one to do so issues
 * them all in one event turn. lmdb-js puts transactions issued in one turn into one LMDB
 * transaction, so a version costs one commit and one sync on the store's write thread instead of
 * one per partition (decisions/0050). A write held here is neither visible nor durable yet; the
 * partition keeps its layer in memory meanwhile, as for any write in flight.
 */
export class VersionWriteGate {
  /** Per version: the writes handed in so far, each wrapped to settle its caller's promise. */
  private readonly held = new Map<number, Array<() => void>>();
  private released = false;

  /** `partitions`: how many partitions write every version (each exactly once). */
  constructor(private readonly partitions: number) {}

  /**
   * Runs `write` once every partition has handed in its write of `version` (at once after
   * {@link release}); settles as it does. Versions are handed in in increasing order by each
   * partition, so versions are issued in increasing order too.
   */
  issue(version: number, write: () => Promise<void>): Promise<void> {
    if (this.released || this.partitions <= 1) return write();
    return new Promise<void>((resolve, reject) => {
      const list = this.held.get(version) ?? [];
      list.push(() => {
        write().then(resolve, reject);
      });
      this.held.set(version, list);
      if (list.length >= this.partitions) this.issueVersion(version);
    });
  }

  /** Issues every write held, oldest version first, and later ones at once (the run stops). */
  release(): void {
    this.released = true;
    for (const version of [...this.held.keys()].sort((a, b) => a - b)) this.issueVersion(version);
  }

  private issueVersion(version: number): void {
    const list = this.held.get(version) ?? [];
    this.held.delete(version);
    for (const go of list) go();
  }
}
