/**
 * A binary min-heap of items that know their own position, so that an item whose key
 * changed can be re-sifted in O(log n) (least-connections counts, round-robin deadlines).
 */
export class IndexedHeap<T extends { heapIndex: number }> {
  readonly items: T[] = [];

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number { return this.items.length; }

  push(item: T): void {
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.up(item.heapIndex);
  }

  /** Restores heap order after `item`'s key changed in either direction. */
  update(item: T): void {
    if (!this.up(item.heapIndex)) this.down(item.heapIndex);
  }

  /**
   * The least item for which `accept` holds, visiting items in key order (best-first walk
   * of the tree), so the cost is O(k log k) for k rejected items, O(1) when the root passes.
   */
  first(accept: (item: T) => boolean): T | null {
    const items = this.items;
    if (items.length === 0) return null;
    if (accept(items[0]!)) return items[0]!;
    const frontier = new IndexedHeapFrontier(items, this.less);
    frontier.add(1); frontier.add(2);
    for (let i = frontier.pop(); i >= 0; i = frontier.pop()) {
      if (accept(items[i]!)) return items[i]!;
      frontier.add(2 * i + 1); frontier.add(2 * i + 2);
    }
    return null;
  }

  private up(i: number): boolean {
    const items = this.items;
    const item = items[i]!;
    let moved = false;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p]!;
      if (!this.less(item, parent)) break;
      items[i] = parent; parent.heapIndex = i;
      i = p; moved = true;
    }
    items[i] = item; item.heapIndex = i;
    return moved;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(items[r]!, items[l]!) ? r : l;
      if (!this.less(items[c]!, item)) break;
      items[i] = items[c]!; items[i]!.heapIndex = i;
      i = c;
    }
    items[i] = item; item.heapIndex = i;
  }
}

/** A small heap of positions into another heap's array, for the best-first walk. */
class IndexedHeapFrontier<T> {
  private readonly q: number[] = [];
  constructor(private readonly items: T[], private readonly less: (a: T, b: T) => boolean) {}

  add(i: number): void {
    if (i >= this.items.length) return;
    const q = this.q;
    q.push(i);
    let k = q.length - 1;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (!this.less(this.items[q[k]!]!, this.items[q[p]!]!)) break;
      [q[k], q[p]] = [q[p]!, q[k]!];
      k = p;
    }
  }

  pop(): number {
    const q = this.q;
    if (q.length === 0) return -1;
    const top = q[0]!;
    const last = q.pop()!;
    if (q.length > 0) {
      q[0] = last;
      let k = 0;
      for (;;) {
        const l = 2 * k + 1;
        if (l >= q.length) break;
        const r = l + 1;
        const c = r < q.length && this.less(this.items[q[r]!]!, this.items[q[l]!]!) ? r : l;
        if (!this.less(this.items[q[c]!]!, this.items[q[k]!]!)) break;
        [q[k], q[c]] = [q[c]!, q[k]!];
        k = c;
      }
    }
    return top;
  }
}

/**
 * The least slot whose target `eligible` accepts (any, when there is no filter). The root
 * nearly always passes: it is tested first so that a pick makes no closure for the walk.
 */
export function firstEligible<T, S extends { target: T; heapIndex: number }>(heap: IndexedHeap<S>, eligible: ((t: T) => boolean) | undefined): S | null {
  const top = heap.items[0];
  if (top === undefined || !eligible || eligible(top.target)) return top ?? null;
  return heap.first((s) => eligible(s.target));
}
