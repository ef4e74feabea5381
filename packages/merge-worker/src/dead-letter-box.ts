/**
 * Dead letters waiting for the next checkpoint of a partition. At most
 * `MAX_DEAD_LETTERS_PER_BATCH` per batch are kept (a job that throws on every record must not fill
 * the disk); the rest are counted.
 */
import { type DeadLetter, MAX_DEAD_LETTERS_PER_BATCH } from '@mrm/core';

/** Collects dead letters between checkpoints. */
export class DeadLetterBox {
  private kept: DeadLetter[] = [];
  private readonly perBatch = new Map<string, number>();
  /** Dead letters set aside since the last {@link take}, kept or only counted. */
  count = 0;

  constructor(readonly job: string) {}

  /** Adds dead letters. */
  add(letters: readonly DeadLetter[]): void {
    for (const letter of letters) {
      this.count++;
      const n = this.perBatch.get(letter.batchId) ?? 0;
      this.perBatch.set(letter.batchId, n + 1);
      if (n < MAX_DEAD_LETTERS_PER_BATCH) this.kept.push(letter);
    }
  }

  /** The dead letters to write now; starts over. */
  take(): DeadLetter[] {
    const kept = this.kept;
    this.kept = [];
    this.perBatch.clear();
    this.count = 0;
    return kept;
  }
}
