// Bounds the requests in flight to one partner (its connection count): a slow partner fills its own slots only.

/** At most `limit` holders at once; waiters are served in order. */
export class Semaphore {
  private held = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.held;
  }

  /** Takes a slot if one is free now (no promise, no await: the common case costs nothing). */
  tryAcquire(): boolean {
    if (this.held >= this.limit) return false;
    this.held++;
    return true;
  }

  async acquire(): Promise<void> {
    if (this.held < this.limit) {
      this.held++;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    // The slot passes straight to the next waiter, so `held` stays the same.
    if (next) next();
    else this.held--;
  }
}
