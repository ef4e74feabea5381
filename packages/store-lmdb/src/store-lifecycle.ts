/**
 * Open/closed state shared by the store and its spill area: rejects calls after close with
 * `E_STATE` and lets close wait for the writes still in flight.
 */
import { ErrorCode, MrmError, type StoreState } from '@mrm/core';

/** Lifecycle of one opened environment. */
export class StoreLifecycle {
  #state: StoreState = 'open';
  readonly #pending = new Set<Promise<unknown>>();
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
  }

  get state(): StoreState {
    return this.#state;
  }

  /** Throws `E_STATE` once the store is closed. */
  assertOpen(operation: string): void {
    if (this.#state === 'closed') {
      throw new MrmError(ErrorCode.State, `${operation} on the LMDB state store at ${this.#path}, which is closed`);
    }
  }

  /** Remembers a write until it settles, so {@link close} can wait for it. */
  track<T>(write: Promise<T>): Promise<T> {
    this.#pending.add(write);
    const forget = (): void => {
      this.#pending.delete(write);
    };
    write.then(forget, forget);
    return write;
  }

  /** Marks the store closed and waits for pending writes; false when it was closed already. */
  async close(): Promise<boolean> {
    if (this.#state === 'closed') return false;
    this.#state = 'closed';
    await Promise.allSettled([...this.#pending]);
    return true;
  }
}
