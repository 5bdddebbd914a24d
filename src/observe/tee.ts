import type { ExchangeObserver } from '../model/exchange.js';

/**
 * One observer for the engine out of two (the metrics and the access log): either alone when
 * the other is off, so that the usual case stays one call per exchange, and null when both are.
 */
export function teeExchanges(a: ExchangeObserver | null, b: ExchangeObserver | null): ExchangeObserver | null {
  if (a === null) return b;
  if (b === null) return a;
  return {
    started() { a.started(); b.started(); },
    ended(r) { a.ended(r); b.ended(r); },
  };
}
