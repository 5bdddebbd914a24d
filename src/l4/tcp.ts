import net from 'node:net';
import type { TokenBucket } from './bucket.js';
import type { ListenerTotals, Tally } from './counters.js';
import { endSpread, refusal, type L4Listener, type ListenerContext } from './listener.js';
import type { ListenerPlan, OriginTarget } from './plan.js';
import { proxyV1, proxyV2 } from './proxy-protocol.js';
import { batched } from '../net/turn-cork.js';
import type { L4End, L4SessionObserver, L4SessionRecord } from '../model/l4-session.js';

/** TCP keepalive on both legs reaps peers that vanished without a FIN or RST. */
const KEEPALIVE_DELAY_MS = 60_000;
/** Origin-leg read buffers (see OriginReads): small while answers are small, large for bulk. */
const READ_SMALL = 4 * 1024;
const READ_LARGE = 64 * 1024;
/** The idle sweep runs every quarter of the idle timeout, within these bounds. */
const SWEEP_MIN_MS = 100;
const SWEEP_MAX_MS = 1000;

/**
 * One direction of a connection: reads `src`, writes `dst`, charges `bucket`. It stops
 * reading while `dst` cannot take more (back-pressure) or the proxy's bucket is in debt
 * (shaping), and starts again when both allow, so the gateway holds at most one chunk per
 * direction whatever the peers do.
 */
class Flow {
  private blockedByDst = false;
  private blockedByBucket = false;
  private readonly wake = (): void => {
    this.blockedByBucket = false;
    if (!this.blockedByDst) this.src.resume();
  };

  /** `reads`: the origin leg, whose chunks come through its onread buffers rather than 'data'. `tally`: the listener's bytes this way. */
  constructor(private readonly src: net.Socket, private readonly dst: net.Socket, private readonly bucket: TokenBucket, private readonly conn: Connection, reads: OriginReads | null, private readonly tally: Tally) {
    if (reads) reads.flow = this;
    else src.on('data', (chunk: Buffer) => this.onData(chunk));
    dst.on('drain', () => {
      this.blockedByDst = false;
      if (!this.blockedByBucket) src.resume();
    });
    // Half-close: the peer's FIN becomes our FIN on the other leg; the other direction goes on.
    src.on('end', () => dst.end());
  }

  onData(chunk: Buffer): void {
    // Idle either way: any chunk in either direction counts (the listener's sweep reads it).
    this.conn.active = true;
    this.tally.bytes += chunk.length;
    // Held to the end of the turn with the turn's other writes (turn-cork.ts): one wake-up of
    // each receiver for all of them.
    if (!batched(this.dst).write(chunk)) { this.blockedByDst = true; this.src.pause(); }
    if (!this.bucket.spend(chunk.length)) {
      this.blockedByBucket = true;
      this.src.pause();
      this.bucket.wait(this.wake, chunk.length);
    }
  }

  start(): void { this.src.resume(); }

  /** Bytes of `dst` not yet handed to the kernel (a chunk still referenced by its write queue). */
  get queued(): number { return this.dst.writableLength; }
}

/**
 * The origin leg reads into a buffer of its own (net.connect's onread) instead of a fresh
 * 64 KiB allocation per read, shrunk to the bytes read: for small answers that allocation
 * and its copy are most of a read's cost. A buffer is read into again only once the write
 * of its last chunk went to the kernel. The next buffer is asked for right after a read, while
 * its chunk is still held for the turn's end (turn-cork.ts): then the spare is read into, free
 * because nothing written before that chunk is held any more. Otherwise (the client is slow)
 * the next read gets a fresh buffer and the queued one is left to the write that holds it.
 */
class OriginReads {
  flow: Flow | null = null;
  private buf: Buffer | null = null;
  private spare: Buffer | null = null;
  private lastRead = 0;

  readonly onread = {
    buffer: (): Buffer => this.next(),
    callback: (n: number, buf: Uint8Array): boolean => {
      this.lastRead = n;
      this.flow!.onData(Buffer.from(buf.buffer, buf.byteOffset, n));
      return true;
    },
  };

  private next(): Buffer {
    const cur = this.buf;
    // A read that filled its buffer or went past the small size is bulk: the large one.
    const size = (cur !== null && this.lastRead >= cur.length) || this.lastRead > READ_SMALL ? READ_LARGE : READ_SMALL;
    const queued = this.flow === null ? 0 : this.flow.queued;
    if (cur !== null && cur.length === size) {
      if (queued === 0) return cur;
      // What is held is (part of) the last chunk, read into `cur`: the write queue is in order.
      const spare = this.spare;
      if (queued <= this.lastRead && spare !== null && spare.length === size) {
        this.spare = cur;
        return (this.buf = spare);
      }
    }
    this.spare = cur;
    return (this.buf = Buffer.allocUnsafeSlow(size));
  }
}

/**
 * A leg whose both directions have ended closes on its own once its last write is flushed;
 * destroying it then would drop those bytes. Any other leg left behind by its peer is ended.
 */
function finishedBothWays(s: net.Socket): boolean {
  return s.readableEnded && s.writableEnded;
}

/**
 * One client connection and, once connected, its origin leg. It is its own access-log record:
 * the byte counts are the client socket's own (node keeps them after close), so the relay
 * counts nothing more per chunk.
 */
class Connection implements L4SessionRecord {
  upstream: net.Socket | null = null;
  target: OriginTarget | null = null;
  /** The origin last picked (connected or not), for the record. */
  picked: OriginTarget | null = null;
  /** The first cause of the end that was seen; none: a clean close. */
  private why: L4End | null = null;
  /** Set only when an observer hears the connection: reading a socket's address allocates. */
  clientAddress = '';
  clientPort = 0;
  startMs = 0;
  endMs = 0;
  readonly protocol = 'tcp';
  readonly datagramsIn = 0;
  readonly datagramsOut = 0;
  /** The balancer the connection is counted on (least connections), until it ends or moves. */
  balancer: ListenerPlan['balancer'] | null = null;
  private ended = false;
  /**
   * Idle timeout (0: none, until the relay starts). A per-chunk socket.setTimeout re-arms a
   * timer twice per request; a flag set per chunk and read by one sweep per listener is a store.
   */
  idleMs = 0;
  /** A chunk went either way since the last sweep. */
  active = false;
  /** The sweep that last saw the connection active (or the relay's start): it is idle since then at most. */
  quietSince = 0;

  constructor(readonly client: net.Socket, private readonly owner: TcpListener) {}

  get proxyId(): string { return this.owner.plan.proxyId; }
  get listenerId(): string { return this.owner.plan.id; }
  get originHost(): string | null { return this.picked?.host ?? null; }
  get originPort(): number | null { return this.picked?.port ?? null; }
  get bytesIn(): number { return this.client.bytesRead; }
  get bytesOut(): number { return this.client.bytesWritten; }
  get end(): L4End { return this.why ?? 'closed'; }

  /** Notes why the connection ends; the first cause seen is the one recorded. */
  ending(why: L4End): void { this.why ??= why; }

  /** Ends both legs with a reset (a drain's deadline, idling out). */
  reset(why: L4End): void {
    this.ending(why);
    if (!this.client.destroyed) this.client.resetAndDestroy();
    if (this.upstream && !this.upstream.destroyed) this.upstream.resetAndDestroy();
  }

  /** Called once, when the client leg has closed and the origin leg is closed or never was. */
  finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.owner.closed(this);
  }
}

/**
 * A TCP listener of one proxy: accepts, refuses at once at the proxy's concurrency cap,
 * connects to an origin (the next eligible one after a connect failure, before any client
 * byte went upstream), writes the PROXY header if asked, then relays both ways under the
 * proxy's byte buckets with half-close, idle timeout and reset propagation.
 */
export class TcpListener implements L4Listener {
  plan: ListenerPlan;
  private server: net.Server | null = null;
  private accepting = true;
  private readonly conns = new Set<Connection>();
  private drained: (() => void) | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweepMs = SWEEP_MAX_MS;
  /** Connections accepted, failed to reach any origin, refused at the proxy's cap (its budget counts those too, proxy-wide). */
  accepted = 0;
  unreachable = 0;
  refused = 0;
  /** Bytes relayed each way: the flows add to these. */
  private readonly bytesIn: Tally = { bytes: 0 };
  private readonly bytesOut: Tally = { bytes: 0 };
  /** The most connections open at once since the last takePeak. */
  private peak = 0;

  private readonly observer: L4SessionObserver | null;

  constructor(plan: ListenerPlan, private readonly ctx: ListenerContext) {
    this.plan = plan;
    this.observer = ctx.sessions ?? null;
  }

  get open(): number { return this.conns.size; }

  totals(): ListenerTotals {
    return { bytesIn: this.bytesIn.bytes, bytesOut: this.bytesOut.bytes, packetsIn: 0, packetsOut: 0, packets: false, opened: this.accepted, refused: this.refused, dropped: 0 };
  }

  takePeak(): number {
    const p = this.peak;
    this.peak = this.conns.size;
    return p;
  }

  start(): Promise<void> {
    return this.bind();
  }

  update(plan: ListenerPlan): void {
    const old = this.plan;
    this.plan = plan;
    if (plan.balancer === old.balancer) return;
    // A new balancer (the bindings changed): open connections whose binding is still there
    // count on it, so least-connections sees them; the others end on the one they started on.
    const byKey = new Map(plan.targets.map((t) => [t.stateKey, t]));
    for (const c of this.conns) {
      const next = c.target && byKey.get(c.target.stateKey);
      if (!next || !c.balancer) continue;
      c.balancer.onEnd(c.target!);
      plan.balancer.onStart(next);
      c.target = next;
      c.balancer = plan.balancer;
    }
  }

  async setAccepting(on: boolean): Promise<void> {
    if (on === this.accepting && (on ? this.server !== null : this.server === null)) return;
    this.accepting = on;
    if (on) await this.bind();
    else this.unbind();
  }

  async drain(deadlineMs: number, spreadMs: number): Promise<void> {
    this.accepting = false;
    this.unbind();
    if (this.conns.size === 0) return;
    const empty = new Promise<void>((resolve) => { this.drained = resolve; });
    let timer: NodeJS.Timeout | null = null;
    const deadline = new Promise<'deadline'>((resolve) => { timer = setTimeout(() => resolve('deadline'), deadlineMs); });
    const first = await Promise.race([empty, deadline]);
    if (timer) clearTimeout(timer);
    if (first === 'deadline') {
      await endSpread([...this.conns], spreadMs, (c) => c.reset('drained'));
      await empty;
    }
  }

  /** A connection is over: its slot and its least-connections count go back. */
  closed(c: Connection): void {
    const observer = this.observer;
    if (observer !== null) {
      c.endMs = Date.now();
      observer.ended(c);
    }
    this.conns.delete(c);
    if (this.conns.size === 0) this.stopSweep();
    this.ctx.budget.release();
    if (c.target && c.balancer) c.balancer.onEnd(c.target);
    if (this.conns.size === 0 && this.drained) { this.drained(); this.drained = null; }
  }

  private bind(): Promise<void> {
    if (this.server) return Promise.resolve();
    const server = net.createServer({
      allowHalfOpen: true, pauseOnConnect: true, noDelay: true, keepAlive: true, keepAliveInitialDelay: KEEPALIVE_DELAY_MS,
    }, (socket) => this.onConnection(socket));
    return new Promise<void>((resolve, reject) => {
      const failed = (err: Error) => { server.close(); reject(err); };
      server.once('error', failed);
      // exclusive: under node:cluster a worker binds its own socket (its proxies are its own).
      server.listen({ host: this.plan.address, port: this.plan.port, exclusive: true }, () => {
        server.off('error', failed);
        server.on('error', (err) => this.ctx.log.error({ err, listener: this.plan.id }, 'L4 listener socket error'));
        if (!this.accepting) { server.close(); resolve(); return; }
        this.server = server;
        resolve();
      });
    });
  }

  private unbind(): void {
    const s = this.server;
    this.server = null;
    // Open connections are the server's no longer: closing it only stops the accepting.
    s?.close();
  }

  private onConnection(client: net.Socket): void {
    // A connection the kernel accepted before the socket closed: refuse it.
    const observer = this.observer;
    if (!this.accepting) {
      observer?.ended(refusal(this.plan, client.remoteAddress ?? '', client.remotePort ?? 0, 'not_accepting'));
      client.resetAndDestroy();
      return;
    }
    const budget = this.ctx.budget;
    if (!budget.tryOpen()) {
      observer?.ended(refusal(this.plan, client.remoteAddress ?? '', client.remotePort ?? 0, 'refused'));
      client.resetAndDestroy();
      this.refused++;
      if (this.ctx.refusalLog.due()) this.ctx.refusalLog.write({ proxy: this.plan.proxyId, listener: this.plan.id, cap: budget.connectionCap }, 'connection refused: the proxy is at its concurrency cap');
      return;
    }
    this.accepted++;
    const c = new Connection(client, this);
    if (observer !== null) {
      c.clientAddress = client.remoteAddress ?? '';
      c.clientPort = client.remotePort ?? 0;
      c.startMs = Date.now();
    }
    this.conns.add(c);
    if (this.conns.size > this.peak) this.peak = this.conns.size;
    client.on('error', () => {
      c.ending('client_reset');
      if (c.upstream && !c.upstream.destroyed) c.upstream.resetAndDestroy();
    });
    client.on('close', () => {
      const up = c.upstream;
      if (!up || up.destroyed) c.finish();
      else if (!finishedBothWays(up)) up.destroy();
    });
    this.connect(c, null, this.plan);
  }

  private connect(c: Connection, tried: Set<OriginTarget> | null, plan: ListenerPlan): void {
    const client = c.client;
    if (client.destroyed) { c.ending('client_gone'); c.finish(); return; }
    const target = this.ctx.picker.pick(plan, client.remoteAddress ?? '', tried, Date.now());
    if (!target) {
      this.unreachable++;
      c.ending('no_origin');
      client.resetAndDestroy();
      return;
    }
    c.picked = target;
    const reads = new OriginReads();
    const up = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true, keepAlive: true, keepAliveInitialDelay: KEEPALIVE_DELAY_MS, onread: reads.onread });
    up.pause();
    up.setTimeout(plan.connectTimeoutMs);
    let connected = false;
    const retry = (): void => {
      up.destroy();
      if (connected) return;
      const next = tried ?? new Set<OriginTarget>();
      next.add(target);
      // Every binding tried once: give up (the client gets a reset).
      if (next.size >= plan.targets.length) {
        this.unreachable++;
        c.ending('origin_unreachable');
        client.resetAndDestroy();
        c.finish();
        return;
      }
      this.connect(c, next, plan);
    };
    up.once('timeout', retry);
    up.once('error', retry);
    up.once('connect', () => {
      connected = true;
      up.off('timeout', retry);
      up.off('error', retry);
      up.setTimeout(0);
      if (client.destroyed) { c.ending('client_gone'); up.destroy(); c.finish(); return; }
      c.upstream = up;
      c.target = target;
      c.balancer = plan.balancer;
      plan.balancer.onStart(target);
      this.relay(c, up, plan, reads);
    });
  }

  private relay(c: Connection, up: net.Socket, plan: ListenerPlan, reads: OriginReads): void {
    const client = c.client;
    if (plan.proxyProtocol !== 0) {
      const ends = { clientIp: client.remoteAddress ?? '', clientPort: client.remotePort ?? 0, localIp: client.localAddress ?? '', localPort: client.localPort ?? 0 };
      up.write(plan.proxyProtocol === 1 ? proxyV1(ends) : proxyV2(ends));
    }
    c.idleMs = plan.idleTimeoutMs;
    c.quietSince = Date.now();
    this.armSweep(plan.idleTimeoutMs);
    // A reset on one leg resets the other; a clean close of both ends the connection.
    up.on('error', () => {
      c.ending('origin_reset');
      if (!client.destroyed) client.resetAndDestroy();
    });
    up.on('close', () => {
      if (client.destroyed) c.finish();
      else if (!finishedBothWays(client)) client.destroy();
    });
    const budget = this.ctx.budget;
    const toOrigin = new Flow(client, up, budget.up, c, null, this.bytesIn);
    const toClient = new Flow(up, client, budget.down, c, reads, this.bytesOut);
    toOrigin.start();
    toClient.start();
  }

  // ---- idle timeout ----------------------------------------------------------------------

  /** Runs the sweep often enough for the shortest idle timeout of the open connections. */
  private armSweep(idleMs: number): void {
    if (idleMs <= 0) return;
    const every = Math.min(SWEEP_MAX_MS, Math.max(SWEEP_MIN_MS, Math.floor(idleMs / 4)));
    if (this.sweepTimer && every >= this.sweepMs) return;
    this.stopSweep();
    this.sweepMs = every;
    this.sweepTimer = setInterval(this.sweep, every);
    this.sweepTimer.unref();
  }

  private stopSweep(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.sweepMs = SWEEP_MAX_MS;
  }

  /**
   * A connection's last chunk came at or before the sweep that last saw it active, so it
   * ends once that sweep is its idle timeout old: never early, at most two periods late.
   * Idle either way ends both legs with a reset, as a peer's reset does.
   */
  private readonly sweep = (): void => {
    const now = Date.now();
    for (const c of this.conns) {
      if (c.active) { c.active = false; c.quietSince = now; }
      else if (c.idleMs > 0 && now - c.quietSince >= c.idleMs) c.reset('idle_timeout');
    }
  };
}
