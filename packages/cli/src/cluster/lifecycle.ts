/** Long-running processes: run until SIGTERM or SIGINT, then close cleanly. */

/** Resolves when the process is asked to stop. */
export function untilStopped(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(signal);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/**
 * What a long-running process opened, closed in reverse order: on the way out, and as well when
 * its start-up fails half-way. A process that printed its error and still held a NATS connection,
 * a worker thread or a timer would never exit (decisions/0043: a merge worker whose metrics port
 * was taken stayed alive, unlisted, and `mrm up` waited for it until its deadline).
 */
export class CloseStack {
  readonly #closers: Array<() => Promise<void> | void> = [];

  /** Closes `close` with the rest, before everything deferred earlier. */
  defer(close: () => Promise<void> | void): void {
    this.#closers.push(close);
  }

  /**
   * Runs every closer, newest first, each even when one before it failed; then rejects with the
   * first failure, if any. Closers run once: a second call has nothing left to close.
   */
  async close(): Promise<void> {
    let failure: { error: unknown } | undefined;
    for (let close = this.#closers.pop(); close !== undefined; close = this.#closers.pop()) {
      try {
        await close();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
  }

  /**
   * Runs `start`; when it fails, closes what it had opened (a failure to close is dropped: the
   * start's own error is the one to report) and rethrows.
   */
  async starting<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start();
    } catch (e) {
      await this.close().catch(() => {});
      throw e;
    }
  }
}
