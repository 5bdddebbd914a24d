/**
 * A read-only map made of a base shared with earlier snapshots (never mutated) and a small
 * layer of this snapshot's changes on top, so that changing one entry of a 10,000-entry map
 * costs the layer, not a copy of the whole. The layer is folded into a fresh base once it
 * holds more than a sixteenth of the entries (at least 64), so lookups stay two Map probes at
 * most and the folding costs O(1) per change over time.
 */
export class LayeredMap<K, V> implements ReadonlyMap<K, V> {
  private constructor(
    private readonly base: ReadonlyMap<K, V>,
    /** This layer's changes over `base`; `undefined`: deleted. */
    private readonly top: ReadonlyMap<K, V | undefined>,
    readonly size: number,
  ) {}

  static of<K, V>(m: ReadonlyMap<K, V>): LayeredMap<K, V> {
    return m instanceof LayeredMap ? m : new LayeredMap(m, new Map(), m.size);
  }

  get(k: K): V | undefined {
    if (this.top.size > 0 && this.top.has(k)) return this.top.get(k);
    return this.base.get(k);
  }

  has(k: K): boolean {
    if (this.top.size > 0 && this.top.has(k)) return this.top.get(k) !== undefined;
    return this.base.has(k);
  }

  /** A new map with `changes` applied (`undefined`: delete); this one is left as it is. */
  with(changes: ReadonlyMap<K, V | undefined>): LayeredMap<K, V> {
    const top = new Map(this.top);
    let size = this.size;
    for (const [k, v] of changes) {
      const had = this.has(k);
      if (v === undefined) { if (had) size--; } else if (!had) size++;
      top.set(k, v);
    }
    if (top.size <= Math.max(64, size / 16)) return new LayeredMap(this.base, top, size);
    const flat = new Map<K, V>();
    for (const [k, v] of this.base) if (!top.has(k)) flat.set(k, v);
    for (const [k, v] of top) if (v !== undefined) flat.set(k, v);
    return new LayeredMap(flat, new Map(), flat.size);
  }

  *entries(): MapIterator<[K, V]> {
    for (const [k, v] of this.base) if (!this.top.has(k)) yield [k, v];
    for (const [k, v] of this.top) if (v !== undefined) yield [k, v];
  }

  *keys(): MapIterator<K> { for (const [k] of this.entries()) yield k; }
  *values(): MapIterator<V> { for (const [, v] of this.entries()) yield v; }
  [Symbol.iterator](): MapIterator<[K, V]> { return this.entries(); }

  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }
}
