/**
 * Group commit: writes that arrive together share one transaction, so one
 * sync of the WAL (synchronous=FULL) serves all of them.
 *
 * `submit(item)` queues an item and resolves with its own result once the
 * transaction that holds it is committed. The first item of a burst starts a
 * commit on `setImmediate`, not on a microtask: requests arrive one socket
 * event at a time, and waiting for the end of the current turn of the event
 * loop gathers every request that arrived in it. Items submitted while a
 * commit is in flight go into the next one. Commits run one at a time, in
 * order of arrival.
 *
 * What a single item sees does not change: `commit(items)` returns one result
 * per item, and when a transaction of several items fails, each item is
 * committed again alone (its own transaction), so the one whose write is at
 * fault gets its own error and the others go through. An item alone that
 * fails gets that failure.
 */
export interface GroupCommit<T, R> {
  submit(item: T): Promise<R>;
  /** Items waiting for the next commit. */
  queueDepth(): number;
  /** Resolves once every item submitted so far is committed (or has failed). */
  flush(): Promise<void>;
}

export interface GroupCommitOptions {
  /** Items per transaction at most (default 2,000). */
  maxBatch?: number;
  /** Told when a transaction of `size` items failed and its items are tried one by one. */
  onSplit?: (size: number, error: unknown) => void;
}

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export function createGroupCommit<T, R>(
  commit: (items: T[]) => Promise<R[]>,
  options: GroupCommitOptions = {},
): GroupCommit<T, R> {
  const maxBatch = options.maxBatch ?? 2_000;
  let queue: Pending<T, R>[] = [];
  let running: Promise<void> | null = null;

  const settle = async (batch: Pending<T, R>[]) => {
    let results: R[];
    try {
      results = await commit(batch.map((p) => p.item));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      options.onSplit?.(batch.length, error);
      for (const p of batch) await settle([p]);
      return;
    }
    batch.forEach((p, i) => {
      p.resolve(results[i] as R);
    });
  };

  const drain = async () => {
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      await settle(batch);
    }
    running = null;
  };

  return {
    submit(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (!running) running = new Promise<void>((r) => setImmediate(r)).then(drain);
      });
    },
    queueDepth: () => queue.length,
    async flush() {
      while (running) await running;
    },
  };
}
