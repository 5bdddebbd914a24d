import type { Balancer, PickContext, Target } from './balancer.js';
import { firstEligible, IndexedHeap } from './heap.js';
import { nextTurn, turnBefore, type RoundRobinTurn } from './turns.js';

interface Slot<T> extends RoundRobinTurn {
  target: T;
  heapIndex: number;
}

/**
 * Smooth weighted round robin in O(log n) per pick (nginx's smooth WRR scans all members):
 * earliest-deadline-first over weighted turns, see turns.ts.
 *
 * An ineligible member passed over keeps its deadline, so it is next in line as soon as
 * it is eligible again (a retry excluding it costs it nothing); a member that stays
 * ineligible for more than a round is brought up to the present when it returns, so it
 * does not get a burst of catch-up turns.
 */
export class WeightedRoundRobin<T extends Target> implements Balancer<T> {
  private readonly heap = new IndexedHeap<Slot<T>>(turnBefore);
  /** Round of the last pick: the present, for members coming back. */
  private round = 0;

  constructor(targets: readonly T[]) {
    targets.forEach((target, order) => {
      this.heap.push({ target, weight: target.weight, round: 0, turn: 1, order, heapIndex: 0 });
    });
  }

  pick(ctx: PickContext<T>): T | null {
    const eligible = ctx.eligible;
    const heap = this.heap;
    const slot = firstEligible(heap, eligible);
    if (!slot) return null;
    if (slot.round < this.round - 1) { slot.round = this.round; slot.turn = 1; }
    this.round = slot.round;
    nextTurn(slot);
    heap.update(slot);
    return slot.target;
  }

  onStart(): void {}
  onEnd(): void {}
}
