/** How often a bucket with waiters refills and wakes them. */
const TICK_MS = 5;
/** The least depth a bucket holds, so that a single flow is not choked by timer granularity. */
const MIN_DEPTH = 64 * 1024;
/** Depth as time at the rate (gaap.md 3.2: 50-100 ms). */
const DEPTH_S = 0.1;

/**
 * A token bucket of bytes shared by every connection of one proxy in one direction. TCP
 * shapes with it: `spend` always succeeds and may leave the bucket in debt; the reader that
 * put it there pauses (`wait`) and is woken, in arrival order, once the debt is repaid, so
 * the long-run rate is exact and each waiting connection gets its turn. UDP polices with
 * `trySpend`: a datagram that does not fit is refused, never queued.
 */
export class TokenBucket {
  private rate: number;
  private depth: number;
  private tokens: number;
  private last: number;
  private readonly waiters: Waiter[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(bytesPerSecond: number, private readonly now: () => number = performanceNow) {
    this.rate = bytesPerSecond;
    this.depth = depthFor(bytesPerSecond);
    this.tokens = this.depth;
    this.last = this.now();
  }

  get bytesPerSecond(): number { return this.rate; }

  /** New rate, in place: connections keep running; the balance is clipped to the new depth. */
  retune(bytesPerSecond: number): void {
    this.refill();
    this.rate = bytesPerSecond;
    this.depth = depthFor(bytesPerSecond);
    if (this.tokens > this.depth) this.tokens = this.depth;
  }

  /** Takes `n` bytes; returns true while the bucket is not in debt (the reader may go on). */
  spend(n: number): boolean {
    this.tokens -= n;
    if (this.tokens >= 0) return true;
    this.refill();
    return this.tokens >= 0;
  }

  /**
   * Takes `n` bytes if they are there (UDP policing: a datagram cannot wait). While TCP
   * readers wait their turn they keep the balance near zero, so a datagram may then borrow,
   * down to one depth of debt, which the waiting readers repay: datagrams go first, TCP
   * takes the rest, and the total stays at the rate. Without waiters, nothing is borrowed.
   */
  trySpend(n: number): boolean {
    if (this.tokens < n) this.refill();
    if (this.tokens < n && (this.waiting === 0 || this.tokens - n < -this.depth)) return false;
    this.tokens -= n;
    return true;
  }

  /**
   * `wake` is called once, after the waiters before it, when the balance covers what the
   * waiters before it are expected to take (`expect`: the size of the reader's last chunk).
   */
  wait(wake: () => void, expect: number): void {
    this.waiters.push({ wake, expect: expect > 0 ? expect : 1 });
    if (!this.timer) this.timer = setTimeout(() => this.tick(), TICK_MS);
  }

  /** Waiters queued (a measure of contention, for tests and metrics). */
  get waiting(): number { return this.waiters.length - this.head; }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.waiters.length = 0;
    this.head = 0;
  }

  private refill(): void {
    const t = this.now();
    const dt = t - this.last;
    this.last = t;
    if (dt > 0) this.tokens = Math.min(this.depth, this.tokens + (dt / 1000) * this.rate);
  }

  private tick(): void {
    this.timer = null;
    this.refill();
    // A woken reader spends its next chunk within microseconds, long before the next tick:
    // wake as many as the balance covers at their expected chunks (at least one), not all.
    let avail = this.tokens;
    while (this.head < this.waiters.length && avail > 0) {
      const w = this.waiters[this.head]!;
      this.waiters[this.head++] = DONE;
      avail -= w.expect;
      w.wake();
    }
    if (this.head > 1024 && this.head * 2 > this.waiters.length) {
      this.waiters.splice(0, this.head);
      this.head = 0;
    }
    if (this.head < this.waiters.length) this.timer = setTimeout(() => this.tick(), TICK_MS);
    else { this.waiters.length = 0; this.head = 0; }
  }
}

interface Waiter { wake(): void; expect: number }
const DONE: Waiter = { wake() {}, expect: 0 };

function depthFor(rate: number): number {
  return Math.max(MIN_DEPTH, rate * DEPTH_S);
}

function performanceNow(): number {
  return performance.now();
}
