import type { Balancer, PickContext, Target } from './balancer.js';
import { hash32, mix32 } from './hash.js';

/** Points on the ring for the member with the least weight: enough for shares within a few %. */
const POINTS_AT_MIN_WEIGHT = 1024;
/** Upper bound on ring points per upstream (8 bytes each). */
const MAX_POINTS = 1 << 20;

/**
 * Weighted consistent hashing on a ring. A member's points are hash(id, j) for
 * j < weight × scale, so they depend only on the member itself and the scale; the scale
 * is a power of two derived from the least weight and capped by the ring size, and it
 * stays the same when members of equal weight come and go. While the scale is unchanged,
 * removing a member moves exactly the keys that were on it and adding one takes keys only
 * onto the new member.
 *
 * The key is taken from the request by `keyOf` (client IP, or the path without query).
 * Ineligible members are skipped by walking clockwise to the next eligible point.
 */
export class ConsistentHashRing<T extends Target> implements Balancer<T> {
  private readonly points: Uint32Array;
  private readonly owners: Uint32Array;

  constructor(private readonly targets: readonly T[], private readonly keyOf: (ctx: PickContext<T>) => string) {
    let total = 0;
    let least = Infinity;
    for (const t of targets) { total += t.weight; least = Math.min(least, t.weight); }
    const scale = ringScale(total, least);
    const count = targets.reduce((n, t) => n + Math.max(1, Math.floor(t.weight * scale)), 0);
    // Pack (point, owner) into one double (32 + 20 bits) so a single numeric sort orders them.
    const packed = new Float64Array(count);
    let k = 0;
    targets.forEach((t, owner) => {
      const n = Math.max(1, Math.floor(t.weight * scale));
      const seed = hash32(t.id);
      for (let j = 0; j < n; j++) packed[k++] = mix32(seed ^ mix32(j + 0x9e3779b9)) * 0x100000 + owner;
    });
    packed.sort();
    this.points = new Uint32Array(count);
    this.owners = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      const v = packed[i]!;
      this.points[i] = Math.floor(v / 0x100000);
      this.owners[i] = v % 0x100000;
    }
  }

  pick(ctx: PickContext<T>): T | null {
    const n = this.points.length;
    if (n === 0) return null;
    const h = hash32(this.keyOf(ctx));
    // First point >= h, wrapping.
    let lo = 0, hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]! < h) lo = mid + 1; else hi = mid;
    }
    const eligible = ctx.eligible;
    const start = lo === n ? 0 : lo;
    const first = this.targets[this.owners[start]!]!;
    if (!eligible || eligible(first)) return first;
    // Walk on; each member is judged once, so a fully ineligible ring costs one lap.
    const seen = new Set<number>([this.owners[start]!]);
    for (let i = 1; i < n && seen.size < this.targets.length; i++) {
      const owner = this.owners[(start + i) % n]!;
      if (seen.has(owner)) continue;
      seen.add(owner);
      const t = this.targets[owner]!;
      if (eligible(t)) return t;
    }
    return null;
  }

  onStart(): void {}
  onEnd(): void {}
}

function ringScale(total: number, least: number): number {
  if (total === 0) return 1;
  let scale = 1;
  while (scale * least < POINTS_AT_MIN_WEIGHT) scale *= 2;
  while (scale > 1 / 1024 && scale * total > MAX_POINTS) scale /= 2;
  return scale;
}
