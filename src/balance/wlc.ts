import type { Balancer, PickContext, Target } from './balancer.js';
import { firstEligible, IndexedHeap } from './heap.js';
import { nextTurn, turnBefore, type RoundRobinTurn } from './turns.js';

interface Slot<T> extends RoundRobinTurn {
  target: T;
  inflight: number;
  heapIndex: number;
}

function lessLoaded<T>(a: Slot<T>, b: Slot<T>): boolean {
  const x = a.inflight * b.weight;
  const y = b.inflight * a.weight;
  return x !== y ? x < y : turnBefore(a, b);
}

/**
 * Weighted least connections: least in-flight per unit of weight. Ties rotate by
 * weighted round robin (as nginx's least_conn does), so an idle pool is still shared by
 * weight. O(log n) per pick and per start/end.
 */
export class WeightedLeastConnections<T extends Target> implements Balancer<T> {
  private readonly heap = new IndexedHeap<Slot<T>>(lessLoaded);
  private readonly slots = new Map<T, Slot<T>>();
  private pending: Slot<T> | null = null;

  constructor(targets: readonly T[]) {
    targets.forEach((target, order) => {
      const slot = { target, weight: target.weight, round: 0, turn: 1, order, inflight: 0, heapIndex: 0 };
      this.slots.set(target, slot);
      this.heap.push(slot);
    });
  }

  pick(ctx: PickContext<T>): T | null {
    this.applyPendingTurn();
    const eligible = ctx.eligible;
    const slot = firstEligible(this.heap, eligible);
    if (!slot) return null;
    this.pending = slot;
    return slot.target;
  }

  onStart(t: T): void {
    const slot = this.slots.get(t);
    if (!slot) return;
    if (slot === this.pending) { this.pending = null; nextTurn(slot); }
    slot.inflight++;
    this.heap.update(slot);
  }

  onEnd(t: T): void {
    const slot = this.slots.get(t);
    if (slot && slot.inflight > 0) { slot.inflight--; this.heap.update(slot); }
  }

  /**
   * The member a pick chose moves on a turn at its onStart, in the same re-sift as its
   * count (one sift instead of two per request); a pick with no onStart after it has its
   * turn applied at the next pick. Keys are totally ordered (ties end at member order), so
   * every pick is the same as with the turn applied at once.
   */
  private applyPendingTurn(): void {
    const p = this.pending;
    if (p) { this.pending = null; nextTurn(p); this.heap.update(p); }
  }
}
