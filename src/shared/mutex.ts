// A FIFO async lock. Used to serialise writes on the single SQLite write connection so an open
// transaction never absorbs another request's statement.
export class Mutex {
  #locked = false;
  #waiters: Array<() => void> = [];

  get locked(): boolean {
    return this.#locked;
  }

  async acquire(): Promise<() => void> {
    if (this.#locked) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    this.#locked = true;
    return () => this.#release();
  }

  #release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#locked = false;
  }
}
