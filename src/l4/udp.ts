import dgram, { type RemoteInfo, type Socket } from 'node:dgram';
import { lookup } from 'node:dns';
import { isIP } from 'node:net';
import type { Balancer } from '../balance/index.js';
import type { ProxyBudget } from './budget.js';
import type { TokenBucket } from './bucket.js';
import type { ListenerTotals } from './counters.js';
import { endSpread, RateLimitedLog, refusal, type L4Listener, type ListenerContext } from './listener.js';
import type { ListenerPlan, OriginTarget } from './plan.js';
import { codeOf } from '../model/errors.js';
import type { L4End, L4SessionObserver, L4SessionRecord } from '../model/l4-session.js';

/**
 * While a session's origin socket connects (a DNS lookup at most), its first datagrams wait
 * here; beyond these bounds they are dropped, so a slow resolver cannot make a session
 * hold more than this.
 */
const PENDING_MAX = 32;
const PENDING_BYTES_MAX = 64 * 1024;
/** Sweep period bounds: expiry is checked every quarter of the idle timeout, within these. */
const SWEEP_MIN_MS = 100;
const SWEEP_MAX_MS = 1000;

/** What a UDP listener has carried and dropped since it was created (for metrics). */
export interface UdpStats {
  /** Client datagrams (and their payload bytes) forwarded to origins. */
  datagramsIn: number;
  bytesIn: number;
  /** Origin datagrams forwarded back to clients. */
  datagramsOut: number;
  bytesOut: number;
  /** Datagrams the proxy's byte budget policed away, client to origin and origin to client. */
  droppedBudgetIn: number;
  droppedBudgetOut: number;
  /** Datagrams that would have opened a session beyond the proxy's concurrency cap. */
  droppedAtCap: number;
  /** Datagrams that would have opened a session while the listener takes none (Close, drain). */
  droppedNotAccepting: number;
  /** Datagrams that would have opened a session on a listener with no origin bound. */
  droppedNoOrigin: number;
  /** Datagrams beyond the bounded queue of a session whose origin socket is still connecting. */
  droppedConnecting: number;
  sessionsOpened: number;
  sessionsExpired: number;
  /** Sessions moved to another origin (theirs turned unhealthy or was unbound). */
  repicks: number;
  /** Errors on origin sockets: ICMP unreachable (ECONNREFUSED), failed lookups and connects. */
  originErrors: number;
}

function emptyStats(): UdpStats {
  return {
    datagramsIn: 0, bytesIn: 0, datagramsOut: 0, bytesOut: 0, droppedBudgetIn: 0, droppedBudgetOut: 0,
    droppedAtCap: 0, droppedNotAccepting: 0, droppedNoOrigin: 0, droppedConnecting: 0,
    sessionsOpened: 0, sessionsExpired: 0, repicks: 0, originErrors: 0,
  };
}

type LookupCallback = (err: Error | null, address: string, family: number) => void;

/**
 * Every address these sockets are handed is an IP literal (a client's from rinfo, an origin's
 * resolved once per session): answering at once spares node's default lookup its nextTick
 * per datagram sent.
 */
function literal(address: string, family: unknown, cb: LookupCallback): void {
  cb(null, address, family === 6 ? 6 : 4);
}

function socketFor(family: number): Socket {
  return dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', lookup: literal as unknown as dgram.SocketOptions['lookup'] });
}

/**
 * One client address:port of the listener, pinned to one origin through one connected socket.
 * It is its own access-log record when it ends.
 */
class Session implements L4SessionRecord {
  sock: Socket | null = null;
  connected = false;
  /** Datagrams waiting for the origin socket to connect (null once connected or closed). */
  pending: Buffer[] | null = [];
  pendingBytes = 0;
  /** Bumped per origin socket, so that a late lookup or connect of a replaced one is ignored. */
  attempt = 0;
  /** Coarse clock (the listener's sweep clock) of the last datagram either way. */
  last: number;
  /** When the current origin socket began to connect. */
  since: number;
  /**
   * Sweep clock when a pick last had to fail open (nothing healthy: the same unhealthy origin
   * came back): such a session re-picks at most once per sweep, not per datagram.
   */
  failedOpenAt = -1;
  /** Its origin is no longer in the listener's plan: the next datagram re-picks. */
  stale = false;
  closed = false;
  /** What it carried (payload bytes and datagrams, client to origin and back). */
  bytesIn = 0;
  bytesOut = 0;
  datagramsIn = 0;
  datagramsOut = 0;
  /** Wall clock: the coarse one lags by up to a sweep, and a session is opened once. */
  readonly startMs = Date.now();
  endMs = 0;
  end: L4End = 'idle_timeout';
  readonly protocol = 'udp';

  constructor(
    readonly listener: UdpListener,
    readonly address: string,
    readonly port: number,
    public target: OriginTarget,
    /** The balancer the session was counted on (lc): it is told when the session ends. */
    public balancer: Balancer<OriginTarget>,
    /** Timeouts are the plan's at the time the session opened (update() is for new sessions). */
    readonly idleMs: number,
    readonly connectMs: number,
    now: number,
  ) {
    this.last = now;
    this.since = now;
    if (!target.state.healthy) this.failedOpenAt = now;
  }

  get proxyId(): string { return this.listener.plan.proxyId; }
  get listenerId(): string { return this.listener.plan.id; }
  get clientAddress(): string { return this.address; }
  get clientPort(): number { return this.port; }
  get originHost(): string { return this.target.host; }
  get originPort(): number { return this.target.port; }

  readonly onReply = (msg: Buffer): void => { this.listener.reply(this, msg); };
  readonly onError = (err: Error): void => { this.listener.originError(this, err); };
}

/**
 * One UDP port of one proxy: sessions keyed by the client's address and port, each with a
 * connected socket to its origin; datagrams keep their boundaries both ways. Both directions
 * are policed by the proxy's byte budget (a datagram that does not fit is dropped and
 * counted) and each session holds one slot of its concurrency cap until it idles out.
 */
export class UdpListener implements L4Listener {
  private current: ListenerPlan;
  private readonly budget: ProxyBudget;
  private readonly up: TokenBucket;
  private readonly down: TokenBucket;
  private readonly errorLog: RateLimitedLog;
  private readonly observer: L4SessionObserver | null;
  private sock: Socket | null = null;
  private starting: Promise<void> | null = null;
  private accepting = true;
  private drained: Promise<void> | null = null;
  /** Called when the last session ends (drain waits on it). */
  private onEmpty: (() => void) | null = null;
  /** client address -> client port -> session: the address string node hands over is hashed as is, with no key built per datagram. */
  private readonly sessions = new Map<string, Map<number, Session>>();
  private count = 0;
  /** Coarse clock, set by the sweep: activity stamps cost nothing per datagram. */
  private now = Date.now();
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweepMs = SWEEP_MAX_MS;
  private readonly counters: UdpStats = emptyStats();
  /** The most sessions live at once since the last takePeak. */
  private peak = 0;
  /** Counters since creation; read-only to everyone but the listener. */
  readonly stats: Readonly<UdpStats> = this.counters;

  constructor(plan: ListenerPlan, private readonly ctx: ListenerContext) {
    this.current = plan;
    this.budget = ctx.budget;
    // Retunes change these buckets in place, so holding them is safe.
    this.up = ctx.budget.up;
    this.down = ctx.budget.down;
    this.errorLog = new RateLimitedLog(ctx.log, 1000);
    this.observer = ctx.sessions ?? null;
  }

  get plan(): ListenerPlan { return this.current; }
  get open(): number { return this.count; }

  totals(): ListenerTotals {
    const c = this.counters;
    return {
      bytesIn: c.bytesIn, bytesOut: c.bytesOut, packetsIn: c.datagramsIn, packetsOut: c.datagramsOut, packets: true,
      opened: c.sessionsOpened, refused: c.droppedAtCap, dropped: c.droppedBudgetIn + c.droppedBudgetOut,
    };
  }

  takePeak(): number {
    const p = this.peak;
    this.peak = this.count;
    return p;
  }

  start(): Promise<void> {
    if (this.drained) return Promise.reject(new Error(`UDP listener ${this.current.id} was drained`));
    if (this.sock) return Promise.resolve();
    if (this.starting) return this.starting;
    const p = this.bind().finally(() => { this.starting = null; });
    this.starting = p;
    return p;
  }

  private bind(): Promise<void> {
    const { address, port } = this.current;
    return new Promise<void>((resolve, reject) => {
      let sock: Socket;
      try {
        sock = socketFor(isIP(address));
      } catch (err) {
        reject(err);
        return;
      }
      let bound = false;
      const fail = (err: unknown): void => {
        try { sock.close(); } catch { /* never bound: nothing to close */ }
        // The plane reports and logs it (once per cause), as for TCP.
        reject(err);
      };
      // The one 'error' handler for the socket's whole life: a bind failure rejects start(),
      // anything later is logged and counted, never thrown.
      sock.on('error', (err) => {
        if (!bound) { fail(err); return; }
        this.errorLog.warn({ proxy: this.current.proxyId, listener: this.current.id, code: codeOf(err) }, 'UDP listener socket error');
      });
      sock.on('message', this.onDatagram);
      try {
        // exclusive: under node:cluster a worker binds the port itself instead of sharing the primary's handle.
        sock.bind({ address, port, exclusive: true }, () => {
          bound = true;
          if (this.drained) { try { sock.close(); } catch { /* already closed */ } resolve(); return; }
          this.sock = sock;
          resolve();
        });
      } catch (err) {
        fail(err);
      }
    });
  }

  update(plan: ListenerPlan): void {
    const old = this.current;
    this.current = plan;
    if (plan.targets === old.targets || this.count === 0) return;
    // The builder makes new target objects whenever the balancing inputs change: a session
    // whose binding is still there moves onto the new object (and balancer), the others
    // re-pick on their next datagram.
    const byKey = new Map<string, OriginTarget>();
    for (const t of plan.targets) byKey.set(t.stateKey, t);
    for (const byPort of this.sessions.values()) {
      for (const s of byPort.values()) {
        const t = byKey.get(s.target.stateKey);
        if (!t) { s.stale = true; continue; }
        s.balancer.onEnd(s.target);
        plan.balancer.onStart(t);
        s.target = t;
        s.balancer = plan.balancer;
        s.stale = false;
      }
    }
  }

  setAccepting(on: boolean): Promise<void> {
    if (this.drained) return Promise.resolve();
    this.accepting = on;
    // The socket stays bound while closed (open sessions still get their replies); it is
    // bound anew only where start() never managed to.
    if (on && !this.sock) return this.start();
    return Promise.resolve();
  }

  drain(deadlineMs: number, spreadMs: number): Promise<void> {
    if (!this.drained) {
      this.accepting = false;
      this.drained = this.finishDrain(deadlineMs, spreadMs);
    }
    return this.drained;
  }

  private async finishDrain(deadlineMs: number, spreadMs: number): Promise<void> {
    if (this.count > 0) {
      // Not unref'd: the wait is bounded and someone awaits its end.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadlineMs);
        this.onEmpty = () => { clearTimeout(timer); resolve(); };
      });
      this.onEmpty = null;
      if (this.count > 0) await endSpread(this.all(), spreadMs, (s) => this.close(s, 'drained'));
    }
    this.stopSweep();
    if (this.starting) await this.starting.catch(() => undefined);
    const sock = this.sock;
    this.sock = null;
    if (sock) {
      await new Promise<void>((resolve) => {
        try { sock.close(() => resolve()); } catch { resolve(); }
      });
    }
  }

  private all(): Session[] {
    const out: Session[] = [];
    for (const byPort of this.sessions.values()) for (const s of byPort.values()) out.push(s);
    return out;
  }

  // ---- hot path -------------------------------------------------------------------------

  private readonly onDatagram = (msg: Buffer, rinfo: RemoteInfo): void => {
    const s = this.sessions.get(rinfo.address)?.get(rinfo.port);
    if (s === undefined) { this.openSession(msg, rinfo); return; }
    // A datagram the budget polices away is still the client's activity: it keeps the session.
    s.last = this.now;
    if (s.stale || (!s.target.state.healthy && s.failedOpenAt !== this.now)) {
      if (!this.repick(s)) return;
    }
    if (!s.connected) { this.queue(s, msg); return; }
    if (!this.up.trySpend(msg.length)) { this.counters.droppedBudgetIn++; return; }
    s.sock!.send(msg);
    this.counters.datagramsIn++;
    this.counters.bytesIn += msg.length;
    s.datagramsIn++;
    s.bytesIn += msg.length;
  };

  /** Holds a datagram (within bounds, and within the budget) until the origin socket connects. */
  private queue(s: Session, msg: Buffer): void {
    const q = s.pending!;
    if (q.length >= PENDING_MAX || s.pendingBytes + msg.length > PENDING_BYTES_MAX) { this.counters.droppedConnecting++; return; }
    if (!this.up.trySpend(msg.length)) { this.counters.droppedBudgetIn++; return; }
    q.push(msg);
    s.pendingBytes += msg.length;
  }

  /** An origin's datagram, back to the client through the listener's socket (source = the proxy's address:port). */
  reply(s: Session, msg: Buffer): void {
    s.last = this.now;
    if (!this.down.trySpend(msg.length)) { this.counters.droppedBudgetOut++; return; }
    const sock = this.sock;
    if (sock === null) return;
    sock.send(msg, s.port, s.address);
    this.counters.datagramsOut++;
    this.counters.bytesOut += msg.length;
    s.datagramsOut++;
    s.bytesOut += msg.length;
  }

  /**
   * ICMP port unreachable from the origin (ECONNREFUSED) and send errors land here. The
   * session keeps its origin: UDP has no handshake to fail, the origin may be restarting and
   * the next datagram may get through, and moving the flow would break whatever state the
   * origin keeps per client. Whether the origin is down is the health checker's verdict;
   * once it says so, the next datagram re-picks.
   */
  originError(s: Session, err: Error): void {
    this.counters.originErrors++;
    this.errorLog.warn({ proxy: this.current.proxyId, listener: this.current.id, origin: `${s.target.host}:${s.target.port}`, code: codeOf(err) }, 'UDP origin error');
  }

  // ---- sessions -------------------------------------------------------------------------

  private openSession(msg: Buffer, rinfo: RemoteInfo): void {
    const plan = this.current;
    const observer = this.observer;
    if (!this.accepting || this.sock === null) {
      this.counters.droppedNotAccepting++;
      observer?.ended(refusal(plan, rinfo.address, rinfo.port, 'not_accepting'));
      return;
    }
    if (!this.budget.tryOpen()) {
      this.counters.droppedAtCap++;
      observer?.ended(refusal(plan, rinfo.address, rinfo.port, 'refused'));
      if (this.ctx.refusalLog.due()) this.ctx.refusalLog.write({ proxy: plan.proxyId, listener: plan.id, protocol: 'udp', client: `${rinfo.address}:${rinfo.port}`, cap: this.budget.connectionCap }, 'UDP session refused at the concurrency cap');
      return;
    }
    if (!this.up.trySpend(msg.length)) {
      this.budget.release();
      this.counters.droppedBudgetIn++;
      observer?.ended(refusal(plan, rinfo.address, rinfo.port, 'budget'));
      return;
    }
    const t = this.ctx.picker.pick(plan, rinfo.address, null, Date.now());
    if (t === null) {
      this.budget.release();
      this.counters.droppedNoOrigin++;
      observer?.ended(refusal(plan, rinfo.address, rinfo.port, 'no_origin'));
      return;
    }
    if (this.count === 0) this.startSweep();
    const s = new Session(this, rinfo.address, rinfo.port, t, plan.balancer, plan.idleTimeoutMs, plan.connectTimeoutMs, this.now);
    plan.balancer.onStart(t);
    let byPort = this.sessions.get(rinfo.address);
    if (!byPort) this.sessions.set(rinfo.address, (byPort = new Map()));
    byPort.set(rinfo.port, s);
    this.count++;
    if (this.count > this.peak) this.peak = this.count;
    this.counters.sessionsOpened++;
    s.pending!.push(msg);
    s.pendingBytes = msg.length;
    this.connect(s);
  }

  /** Opens the session's origin socket to its target; the host may be a domain, resolved here once. */
  private connect(s: Session): void {
    const t = s.target;
    const attempt = ++s.attempt;
    s.since = this.now;
    const family = isIP(t.host);
    if (family !== 0) { this.openSocket(s, t.host, family, attempt); return; }
    lookup(t.host, (err, address, fam) => {
      if (s.closed || s.attempt !== attempt) return;
      if (err) { this.originError(s, err); this.close(s, 'origin_error'); return; }
      this.openSocket(s, address, fam, attempt);
    });
  }

  private openSocket(s: Session, ip: string, family: number, attempt: number): void {
    let sock: Socket;
    try {
      sock = socketFor(family);
    } catch (err) {
      this.originError(s, err as Error);
      this.close(s, 'origin_error');
      return;
    }
    sock.on('error', s.onError);
    sock.on('message', s.onReply);
    s.sock = sock;
    const connected = (err?: Error | null): void => {
      if (s.closed || s.attempt !== attempt) return;
      if (err) { this.originError(s, err); this.close(s, 'origin_error'); return; }
      s.connected = true;
      const q = s.pending!;
      s.pending = null;
      s.pendingBytes = 0;
      for (const m of q) {
        sock.send(m);
        this.counters.datagramsIn++;
        this.counters.bytesIn += m.length;
        s.datagramsIn++;
        s.bytesIn += m.length;
      }
    };
    try {
      sock.connect(s.target.port, ip, connected as () => void);
    } catch (err) {
      connected(err as Error);
    }
  }

  /** Returns false when the session had to end (no origin left to pick); the datagram is dropped. */
  private repick(s: Session): boolean {
    const plan = this.current;
    const t = this.ctx.picker.pick(plan, s.address, null, Date.now());
    s.stale = false;
    if (t === null) { this.counters.droppedNoOrigin++; this.close(s, 'no_origin'); return false; }
    // Nothing healthy left (fail-open gave back the same origin): keep the socket.
    if (t === s.target) { s.failedOpenAt = this.now; return true; }
    if (!t.state.healthy) s.failedOpenAt = this.now;
    s.balancer.onEnd(s.target);
    plan.balancer.onStart(t);
    s.target = t;
    s.balancer = plan.balancer;
    this.counters.repicks++;
    this.closeSocket(s);
    s.pending = [];
    s.pendingBytes = 0;
    this.connect(s);
    return true;
  }

  private closeSocket(s: Session): void {
    const sock = s.sock;
    s.sock = null;
    s.connected = false;
    if (sock) { try { sock.close(); } catch { /* already closed */ } }
  }

  /** Ends a session: its slot and its lc count are given back exactly once. */
  private close(s: Session, why: L4End): void {
    if (s.closed) return;
    s.closed = true;
    const observer = this.observer;
    if (observer !== null) {
      s.end = why;
      s.endMs = Date.now();
      observer.ended(s);
    }
    const byPort = this.sessions.get(s.address);
    if (byPort && byPort.get(s.port) === s) {
      byPort.delete(s.port);
      if (byPort.size === 0) this.sessions.delete(s.address);
    }
    this.count--;
    s.balancer.onEnd(s.target);
    this.budget.release();
    this.closeSocket(s);
    s.pending = null;
    if (this.count === 0) {
      this.stopSweep();
      this.onEmpty?.();
    }
  }

  // ---- expiry ---------------------------------------------------------------------------

  private startSweep(): void {
    this.now = Date.now();
    if (!this.sweepTimer) this.armSweep();
  }

  private armSweep(): void {
    this.sweepMs = Math.min(SWEEP_MAX_MS, Math.max(SWEEP_MIN_MS, Math.floor(this.current.idleTimeoutMs / 4)));
    this.sweepTimer = setTimeout(this.sweep, this.sweepMs);
    this.sweepTimer.unref();
  }

  private stopSweep(): void {
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepTimer = null;
  }

  /**
   * Stamps lag the true time by up to one sweep period, so a session expires once its stamp
   * is a period older than its timeout: never early, at most two periods late.
   */
  private readonly sweep = (): void => {
    this.sweepTimer = null;
    const now = (this.now = Date.now());
    const slack = this.sweepMs;
    for (const byPort of this.sessions.values()) {
      for (const s of byPort.values()) {
        if (!s.connected && now - s.since >= s.connectMs + slack) {
          this.originError(s, new Error(`connect to ${s.target.host}:${s.target.port} timed out`));
          this.close(s, 'origin_unreachable');
        } else if (now - s.last >= s.idleMs + slack) {
          this.counters.sessionsExpired++;
          this.close(s, 'idle_timeout');
        }
      }
    }
    if (this.count > 0) this.armSweep();
  };
}
