/**
 * Weighted turns as earliest-deadline-first: a member of weight w is due at
 * round + (turn - ½) / w, turn = 1..w. Taking the earliest deadline and moving it one turn
 * on yields a sequence of period W = sum of weights in which each member appears exactly
 * w times, spread evenly (the half-step offset interleaves light members between heavy
 * ones instead of after them). Deadlines are compared as integers, so ties are exact and
 * broken by member order.
 */
export interface RoundRobinTurn {
  weight: number;
  round: number;
  turn: number;
  order: number;
}

export function turnBefore(a: RoundRobinTurn, b: RoundRobinTurn): boolean {
  if (a.round !== b.round) return a.round < b.round;
  const x = (2 * a.turn - 1) * b.weight;
  const y = (2 * b.turn - 1) * a.weight;
  return x !== y ? x < y : a.order < b.order;
}

export function nextTurn(t: RoundRobinTurn): void {
  if (t.turn >= t.weight) { t.round++; t.turn = 1; } else t.turn++;
}
