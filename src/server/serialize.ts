/**
 * Per-key serialization inside one process: changes to one environment (a
 * push, a key rotation) run one after another. Across processes the
 * database's constraints refuse the second writer instead.
 */
const locks = new Map<string, Promise<unknown>>();

export async function serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve();
  const run = previous.then(work, work);
  const tail = run.catch(() => undefined);
  locks.set(key, tail);
  try {
    return await run;
  } finally {
    if (locks.get(key) === tail) locks.delete(key);
  }
}
