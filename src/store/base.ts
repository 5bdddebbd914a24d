import type { Subscriber, Change } from './store.js';

/** Subscribers run after commit; one that throws must not break the writer or the others. */
export class Subscribers {
  private readonly fns = new Set<Subscriber>();
  add(fn: Subscriber): () => void {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }
  notify(revision: number, changes: Change[]): void {
    for (const fn of this.fns) {
      try { fn(revision, changes); } catch { /* a subscriber's failure is its own */ }
    }
  }
}

/** Serialises async critical sections in one process. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(() => undefined, () => undefined);
    return result;
  }
}
