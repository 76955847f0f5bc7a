/**
 * A first-come, first-served readers-writer lock for the keeper's in-process
 * work. Ordinary calls share it; rotation, retirement and root-key rotation
 * hold it alone, so no call ever holds a keyring that is being replaced, and
 * no value is written under a term that is being retired.
 */
interface Waiter {
  exclusive: boolean;
  grant: () => void;
}

export class Gate {
  #readers = 0;
  #writer = false;
  readonly #queue: Waiter[] = [];

  shared<T>(fn: () => Promise<T>): Promise<T> {
    return this.#run(false, fn);
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#run(true, fn);
  }

  async #run<T>(exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    await new Promise<void>((grant) => {
      this.#queue.push({ exclusive, grant });
      this.#next();
    });
    try {
      return await fn();
    } finally {
      if (exclusive) this.#writer = false;
      else this.#readers--;
      this.#next();
    }
  }

  #next(): void {
    for (;;) {
      const waiter = this.#queue[0];
      if (waiter === undefined || this.#writer) return;
      if (waiter.exclusive) {
        if (this.#readers > 0) return;
        this.#writer = true;
      } else {
        this.#readers++;
      }
      this.#queue.shift();
      waiter.grant();
    }
  }
}

/** One at a time, in order of arrival. */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
