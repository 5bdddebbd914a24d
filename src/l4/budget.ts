import { TokenBucket } from './bucket.js';

/**
 * One proxy's shared budget, drawn on by every listener, connection and UDP session of the
 * proxy in this process (with workers, a proxy lives in one worker, so this is all of it):
 * a byte bucket per direction and one counter of open connections plus live sessions.
 */
export class ProxyBudget {
  /** Client to origin. */
  readonly up: TokenBucket;
  /** Origin to client. */
  readonly down: TokenBucket;
  private open = 0;
  private cap: number;
  /** Connections and sessions refused at the cap since start. */
  refused = 0;
  /** The most open at once since the last takePeak. */
  private peak = 0;

  constructor(byteRate: number, connectionCap: number) {
    this.up = new TokenBucket(byteRate);
    this.down = new TokenBucket(byteRate);
    this.cap = connectionCap;
  }

  get connections(): number { return this.open; }
  get connectionCap(): number { return this.cap; }
  get byteRate(): number { return this.up.bytesPerSecond; }

  /**
   * A slot for a new connection or session, or false at the cap (the caller refuses at
   * once). A lowered cap refuses new ones until the count falls below it.
   */
  tryOpen(): boolean {
    if (this.open >= this.cap) { this.refused++; return false; }
    this.open++;
    if (this.open > this.peak) this.peak = this.open;
    return true;
  }

  /** The most connections and sessions open at once since the last call (GAAP's Concurrent). */
  takePeak(): number {
    const p = this.peak;
    this.peak = this.open;
    return p;
  }

  /** Gives back a slot taken by tryOpen (exactly once per slot). */
  release(): void {
    if (this.open > 0) this.open--;
  }

  /** ModifyProxyConfiguration: both limits change in place; nothing open is touched. */
  retune(byteRate: number, connectionCap: number): void {
    if (byteRate !== this.up.bytesPerSecond) { this.up.retune(byteRate); this.down.retune(byteRate); }
    this.cap = connectionCap;
  }

  close(): void {
    this.up.close();
    this.down.close();
  }
}
