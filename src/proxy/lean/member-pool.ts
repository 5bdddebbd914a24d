import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { PoolSource } from '../../runtime/pools.js';
import { DEFAULT_POOL_OPTIONS, type PoolOptions } from '../pools.js';
import { OutBuffer } from './out-buffer.js';

/**
 * Whoever holds a member connection (one exchange at a time). Methods rather than callbacks,
 * so that an exchange is its own listener and an attempt makes no closures.
 */
export interface MemberOwner {
  /** A new connection is up: the request can be written. */
  memberReady(c: MemberConn): void;
  /**
   * Bytes from the member in b[start..end). With `c.reusesReadBuffer`, b is overwritten by the
   * next read: return false to stop reading (the socket is paused) until they are consumed.
   */
  memberData(b: Buffer, start: number, end: number): boolean;
  /** The connection is gone; err is null when the member closed it cleanly. */
  memberClosed(err: Error | null): void;
  /** No byte from the member, nor request bytes to it, for the armed timeout (see MemberConn.arm). */
  memberTimeout(): void;
  /** The socket's write buffer drained. */
  memberDrain(): void;
}

/**
 * The armed timeout is watched in this many ticks: it fires between timeoutMs and
 * timeoutMs * (1 + 1/TICKS) after the last activity, never before.
 */
const TICKS = 8;
/** Ticks for a timeout of `ms` (at least a millisecond each). */
const ticksOf = (ms: number): number => Math.min(TICKS, ms);

/** Read buffer of a plain member connection (reused for every read, see `onread`). */
const READ_SIZE = 64 * 1024;
/** The rewritten request head (and a small body with it) is built here; larger ones get their own buffer. */
export const OUT_SIZE = 20 * 1024;

/** An error like the ones undici gives, so that errors.ts classify reads it the same way. */
export function memberError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * One keep-alive connection to a member. Plain ones read through `net.connect`'s documented
 * `onread` option into one buffer per connection (no allocation per read); TLS ones through
 * 'data' events.
 */
export class MemberConn {
  readonly sock: Socket;
  owner: MemberOwner | null = null;
  readonly reusesReadBuffer: boolean;
  /** Request heads are written from here (only when the last write from it was taken whole). */
  readonly out = new OutBuffer(OUT_SIZE);
  connected = false;
  dead = false;
  /** Requests sent on it so far (a reused connection may have gone stale). */
  uses = 0;
  idleSince = 0;
  /**
   * A byte came or went since the last tick. The exchange sets it for what it writes; a
   * socket timeout would do the same, but Node re-inserts its timer on every read and write.
   */
  active = false;
  private paused = false;
  private armed = 0;
  private quiet = 0;
  private ticking = false;
  private timer: NodeJS.Timeout | null = null;
  private err: Error | null = null;
  private readonly onTick = (): void => this.tick();

  constructor(readonly pool: MemberPool, readonly servername: string | null) {
    if (pool.tls) {
      const s = tlsConnect({
        host: pool.host, port: pool.port, servername: servername ?? undefined, rejectUnauthorized: pool.verify,
        ALPNProtocols: ['http/1.1'],
      });
      s.on('secureConnect', () => this.ready());
      s.on('data', (d: Buffer) => { if (!this.read(d, d.length)) s.pause(); });
      this.sock = s;
      this.reusesReadBuffer = false;
    } else {
      const mem = Buffer.allocUnsafeSlow(READ_SIZE);
      this.sock = netConnect({ host: pool.host, port: pool.port, noDelay: true, onread: { buffer: mem, callback: (n: number, b: Uint8Array) => this.read(b as Buffer, n) } });
      this.sock.on('connect', () => this.ready());
      this.reusesReadBuffer = true;
    }
    if (pool.tls) this.sock.setNoDelay(true);
    this.sock.setTimeout(pool.opts.connectTimeoutMs);
    this.sock.on('timeout', () => this.connectTimedOut());
    this.sock.on('error', (e: Error) => { this.err ??= e; });
    this.sock.on('drain', () => this.owner?.memberDrain());
    this.sock.on('close', () => this.closed());
  }

  private ready(): void {
    this.connected = true;
    this.sock.setTimeout(0);
    this.owner?.memberReady(this);
  }

  /** Returning false pauses the socket (onread's contract; the TLS 'data' handler does the same). */
  private read(b: Buffer, n: number): boolean {
    const o = this.owner;
    // Bytes nobody asked for (a member talking out of turn on an idle connection): unusable.
    if (o === null) { this.destroy(); return false; }
    this.active = true;
    if (o.memberData(b, 0, n) || this.owner !== o) return true;
    this.paused = true;
    return false;
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.sock.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.sock.resume();
  }

  private connectTimedOut(): void {
    if (!this.connected) this.destroy(memberError('UND_ERR_CONNECT_TIMEOUT', 'connect timeout'));
  }

  private closed(): void {
    this.dead = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.pool.forget(this);
    const o = this.owner;
    this.owner = null;
    o?.memberClosed(this.err);
  }

  /**
   * Starts the inactivity timeout (the route's wait for the answer and between its chunks) as
   * of now; 0 stops it. One timer per connection ticks while it is armed and owned: a request
   * on a connection still ticking sets two fields, where a socket timeout would re-insert
   * Node's timer on every read and write.
   */
  arm(ms: number): void {
    this.active = true;
    this.quiet = 0;
    if (ms !== this.armed) {
      this.armed = ms;
      // The timer's period is the old timeout's: a new one for the new.
      if (this.timer !== null) { clearTimeout(this.timer); this.timer = null; this.ticking = false; }
    }
    if (ms === 0 || this.ticking) return;
    this.ticking = true;
    if (this.timer === null) this.timer = setTimeout(this.onTick, Math.ceil(ms / ticksOf(ms))).unref();
    else this.timer.refresh();
  }

  /** Starts the armed timeout afresh (after a pause, which the timeout does not count). */
  rearm(): void { this.arm(this.armed); }

  private tick(): void {
    const o = this.owner;
    // Back in the pool (or gone): the next request arms it again.
    if (o === null || this.dead) { this.ticking = false; return; }
    if (this.active) { this.active = false; this.quiet = 0; } else if (++this.quiet >= ticksOf(this.armed)) {
      this.ticking = false;
      o.memberTimeout();
      return;
    }
    this.timer!.refresh();
  }

  destroy(err?: Error): void {
    if (this.dead) return;
    if (err) this.err ??= err;
    this.dead = true;
    // The timer stops in closed(), which follows; a tick before it sees `dead`.
    this.sock.destroy();
  }
}

/** Keep-alive connections to one origin under one TLS policy (a PoolSource pool). */
export class MemberPool {
  private readonly idle: MemberConn[] = [];
  private readonly all = new Set<MemberConn>();
  /** No plan uses it any more: connections in use close when they come back. */
  private retired = false;

  constructor(readonly host: string, readonly port: number, readonly tls: boolean, readonly verify: boolean, readonly opts: PoolOptions) {}

  /**
   * A connection for `owner`: an idle one (connected: write at once) or a new one (wait for
   * memberReady). TLS connections are only reused for the same server name. `fresh`: never an idle one.
   */
  acquire(owner: MemberOwner, servername: string | null, fresh = false): MemberConn {
    const idle = this.idle;
    for (let i = fresh ? -1 : idle.length - 1; i >= 0; i--) {
      const c = idle[i]!;
      if (c.servername !== servername && this.tls) continue;
      // The newest is almost always taken (and plain pools take it always): no splice for it.
      if (i === idle.length - 1) idle.pop(); else idle.splice(i, 1);
      c.owner = owner;
      c.uses++;
      return c;
    }
    const c = new MemberConn(this, this.tls ? servername : null);
    this.all.add(c);
    c.owner = owner;
    c.uses++;
    return c;
  }

  /** Back from an exchange that left it ready for another request. */
  release(c: MemberConn): void {
    c.owner = null;
    if (c.dead) return;
    if (this.retired || c.sock.writableLength > 0) { c.destroy(); return; }
    // Read on while idle: a member that closes it is noticed (and it leaves the pool).
    c.resume();
    c.idleSince = clock;
    this.idle.push(c);
  }

  /** Closes connections idle since before `cutoff` (ms). */
  sweep(cutoff: number): void {
    const idle = this.idle;
    while (idle.length > 0 && idle[0]!.idleSince < cutoff) idle.shift()!.destroy();
  }

  forget(c: MemberConn): void {
    this.all.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
  }

  retire(): void {
    this.retired = true;
    for (const c of this.idle.splice(0)) c.destroy();
  }

  destroyAll(): void {
    this.retired = true;
    for (const c of [...this.all]) c.destroy();
  }
}

/** How often idle member connections past their keep-alive are looked for. */
const SWEEP_MS = 1000;
/** Date.now() as of the last sweep: when a connection went idle, to a sweep's precision (no clock read per request). */
let clock = Date.now();

/** The lean engine's pools, one per origin and TLS policy, as the runtime hands them out. */
export class MemberPools implements PoolSource<MemberPool> {
  private readonly pools = new Map<string, MemberPool>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: PoolOptions = DEFAULT_POOL_OPTIONS) {}

  get(origin: string, tls: { verify: boolean }): MemberPool {
    const key = `${origin}|${tls.verify ? 'verify' : 'noverify'}`;
    let pool = this.pools.get(key);
    if (!pool) {
      const u = new URL(origin);
      const secure = u.protocol === 'https:';
      const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
      pool = new MemberPool(host, Number(u.port) || (secure ? 443 : 80), secure, tls.verify, this.opts);
      this.pools.set(key, pool);
      this.timer ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
    }
    return pool;
  }

  private sweep(): void {
    clock = Date.now();
    const cutoff = clock - this.opts.keepAliveMs;
    for (const p of this.pools.values()) p.sweep(cutoff);
  }

  release(pool: MemberPool): void {
    for (const [k, p] of this.pools) if (p === pool) this.pools.delete(k);
    pool.retire();
  }

  destroyAll(): void {
    for (const p of this.pools.values()) p.destroyAll();
    this.pools.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
