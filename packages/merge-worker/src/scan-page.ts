/** Pages of a partition's entries (and of dead letters) for a remote reader, sized to fit a transport payload. */
import type {
  DeadLettersReply,
  DeadLettersRequest,
  ScanReply,
  ScanRequest,
  StateStore,
  StoredDeadLetter,
} from '@mrm/core';

/** Entry bytes per page, well under NATS's 1 MiB default payload (values are estimated). */
const PAGE_BYTES = 256 * 1024;

/** Reads up to `limit` entries after `after`, stopping early near {@link PAGE_BYTES}. */
export async function scanPage(store: StateStore, m: ScanRequest): Promise<Omit<ScanReply, 'v'>> {
  const entries: unknown[] = [];
  let bytes = 0;
  const it = store
    .scan(m.job, m.partition, {
      asOf: m.version,
      ...(m.after !== undefined ? { start: m.after } : {}),
    })
    [Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await it.next();
      if (next.done === true) return { type: 'scan-reply', entries, done: true };
      const [key, value] = next.value;
      if (key === m.after) continue;
      if (entries.length / 2 >= m.limit || bytes >= PAGE_BYTES) return { type: 'scan-reply', entries, done: false };
      entries.push(key, value);
      bytes += key.length + estimateBytes(value);
    }
  } finally {
    await it.return?.();
  }
}

function estimateBytes(value: unknown): number {
  if (typeof value === 'string') return value.length + 2;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return 9;
  if (value instanceof Uint8Array) return value.byteLength + 5;
  try {
    return JSON.stringify(value)?.length ?? 16;
  } catch {
    return 1024;
  }
}

/** A page of the job's dead letters held here (of `m.partition` if given): up to `limit` after the first `skip`. */
export async function deadLetterPage(store: StateStore, m: DeadLettersRequest): Promise<Omit<DeadLettersReply, 'v'>> {
  const letters: StoredDeadLetter[] = [];
  let seen = 0;
  let bytes = 0;
  for await (const letter of store.deadLetters(m.job, m.version)) {
    if (m.partition !== undefined && letter.partition !== m.partition) continue;
    if (seen++ < m.skip) continue;
    if (letters.length >= m.limit || bytes >= PAGE_BYTES) return { type: 'dead-letters-reply', letters, done: false };
    letters.push(letter);
    bytes += estimateBytes(letter);
  }
  return { type: 'dead-letters-reply', letters, done: true };
}
