/** What every state store checks of a partition restored from its copies before it writes it. */
import { ErrorCode, MrmError } from './errors.js';
import type { PartitionRestore } from './ports/state-store.js';

/** Throws `E_STATE` when a restored dead letter is not at a version from 1 to the restore's version. */
export function checkRestoredLetters(restore: PartitionRestore): void {
  for (const letter of restore.deadLetters ?? []) {
    if (!(Number.isSafeInteger(letter.version) && letter.version >= 1 && letter.version <= restore.version)) {
      throw new MrmError(
        ErrorCode.State,
        `a dead letter of partition ${restore.partition} of job ${restore.job} is at version ${letter.version}, not from 1 to ${restore.version}`,
      );
    }
  }
}
