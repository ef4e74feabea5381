/**
 * A first-come, first-served gate of a few lanes: at most `count` holders at a time, the others
 * wait in order. The blob store sends its large puts through one (decisions/0046), so that a burst
 * of full snapshots queues in the process instead of piling acknowledgements up in the server
 * until they time out.
 */
export class Lanes {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(count: number) {
    this.#free = count;
  }

  /** Runs `op` once a lane is free, and frees the lane when it settles. */
  async run<T>(op: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await op();
    } finally {
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#free++;
    }
  }
}
