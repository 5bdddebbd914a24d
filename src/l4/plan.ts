import { createBalancer, type Balancer, type Target } from '../balance/index.js';
import {
  listenerIdleSeconds, listenerProxyProtocol, proxyByteRate, proxyConnectionCap,
  type L4Scheduler, type Proxy, type ProxyStatus, type StreamListener, type UdpCheck,
} from '../model/gaap.js';
import type { Strategy } from '../model/types.js';
import type { L4Objects } from '../runtime/config.js';
import type { MemberState } from '../runtime/member-state.js';
import { messageOf } from '../model/errors.js';

/** One bound origin as the L4 plane sees it: where to connect, its share, its health. */
export interface OriginTarget extends Target {
  /** The binding id (unique per listener and origin). */
  id: string;
  originId: string;
  /** An IP, or a domain name (resolved at connect time; health probes every address). */
  host: string;
  port: number;
  /** Key of this binding's health state (l4StateKey). */
  stateKey: string;
  state: MemberState;
}

/** What a listener's health checks do (null on the listener: checks off, every origin normal). */
export interface L4CheckSpec {
  kind: 'tcp' | 'udp-port' | 'udp-ping';
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** udp-port: the port probed (0 = the binding's), what to send and what must come back. */
  port: number;
  send: string;
  receive: string;
}

export interface ListenerPlan {
  id: string;
  proxyId: string;
  tenantId: string;
  protocol: 'tcp' | 'udp';
  /** The proxy's address. */
  address: string;
  port: number;
  scheduler: L4Scheduler;
  /** 0: none (TOA, or UDP); 1 or 2: the PROXY protocol header version sent first upstream. */
  proxyProtocol: 0 | 1 | 2;
  /** Per upstream connect attempt. */
  connectTimeoutMs: number;
  /** TCP connection / UDP session idle timeout. */
  idleTimeoutMs: number;
  /** Source-IP affinity hold (0: off). */
  sessionPersistMs: number;
  check: L4CheckSpec | null;
  targets: OriginTarget[];
  /** Failover masters are primaries, slaves backups (TieredBalancer): slaves only while no master is eligible. */
  balancer: Balancer<OriginTarget>;
  /** Identity of the balancing inputs: a plan whose signature is unchanged keeps its balancer. */
  signature: string;
}

export interface ProxyPlan {
  id: string;
  tenantId: string;
  address: string;
  status: ProxyStatus;
  /** Listeners accept new connections (false while CLOSING/CLOSED/ISOLATED, DESTROYING). */
  accepting: boolean;
  /** DESTROYING: stop accepting, drain to the deadline, reset the rest. */
  destroying: boolean;
  /** Payload bytes per second, per direction. */
  byteRate: number;
  /** Open TCP connections plus live UDP sessions. */
  connectionCap: number;
  listeners: ListenerPlan[];
}

/** An object the builder left out, and why (one bad object never stops the others). */
export interface L4Problem { kind: 'proxy' | 'streamListener'; id: string; error: string }

export interface L4Snapshot {
  revision: number;
  proxies: Map<string, ProxyPlan>;
  problems: L4Problem[];
}

export interface L4PlanDeps {
  /** The access region this node serves. */
  region: string;
  /** Proxies this process serves (with workers: its share); absent: all of the region's. */
  serves?: (proxyId: string) => boolean;
  previous: L4Snapshot | null;
  state(key: string): MemberState;
}

/** States whose listeners accept; the others keep open connections but take no new ones. */
const ACCEPTING: ReadonlySet<ProxyStatus> = new Set<ProxyStatus>(['CREATING', 'RUNNING', 'OPENING', 'ADJUSTING', 'CLONING', 'RECOVERING', 'MOVING']);

export function l4StateKey(listenerId: string, bindingId: string, host: string, port: number): string {
  return `l4:${listenerId}/${bindingId}/${host}:${port}`;
}

export function isL4StateKey(key: string): boolean {
  return key.startsWith('l4:');
}

/** The listener and binding a state key names (ids hold no '/'), or null for another key. */
export function l4BindingOfKey(key: string): { listenerId: string; bindingId: string } | null {
  if (!isL4StateKey(key)) return null;
  const [listenerId, bindingId] = key.slice(3).split('/');
  return listenerId && bindingId ? { listenerId, bindingId } : null;
}

function strategyOf(s: L4Scheduler): Strategy {
  switch (s) {
    case 'rr': case 'wrr': return 'wrr';
    case 'lc': return 'wlc';
    // A stored object can hold what no face writes; failing here isolates that listener.
    default: throw new Error(`unknown scheduler ${JSON.stringify(s)}`);
  }
}

function checkOf(l: StreamListener): L4CheckSpec | null {
  if (!l.healthCheck) return null;
  const base = { intervalMs: l.delayLoop * 1000, timeoutMs: l.connectTimeout * 1000, healthyThreshold: l.healthyThreshold, unhealthyThreshold: l.unhealthyThreshold };
  if (l.protocol === 'tcp') return { kind: 'tcp', ...base, port: 0, send: '', receive: '' };
  const c: UdpCheck = l.udpCheck ?? { type: 'port', port: 0, contextType: 'TEXT', send: '', receive: '' };
  if (c.type !== 'port' && c.type !== 'ping') throw new Error(`unknown UDP check type ${JSON.stringify(c.type)}`);
  return { kind: c.type === 'ping' ? 'udp-ping' : 'udp-port', ...base, port: c.port, send: c.send, receive: c.receive };
}

function planListener(p: Proxy, l: StreamListener, objects: Indexed, deps: L4PlanDeps): ListenerPlan {
  if (l.protocol !== 'tcp' && l.protocol !== 'udp') throw new Error(`unknown protocol ${JSON.stringify(l.protocol)}`);
  const strategy = strategyOf(l.scheduler);
  const check = checkOf(l);
  const targets: OriginTarget[] = [];
  for (const b of objects.bindings.get(l.id) ?? []) {
    const o = objects.origins.get(b.originId);
    if (!o) continue;
    const stateKey = l4StateKey(l.id, b.id, o.address, b.port);
    targets.push({
      id: b.id, originId: o.id, host: o.address, port: b.port,
      // rr ignores weights (GAAP: weights apply under wrr).
      weight: l.scheduler === 'rr' ? 1 : b.weight,
      backup: l.failover && b.role === 'slave',
      stateKey, state: deps.state(stateKey),
    });
  }
  const pp = listenerProxyProtocol(l) ?? 0;
  const signature = JSON.stringify([strategy, targets.map((t) => [t.id, t.host, t.port, t.weight, t.backup])]);
  const old = deps.previous?.proxies.get(p.id)?.listeners.find((x) => x.id === l.id);
  const keep = old !== undefined && old.signature === signature;
  return {
    id: l.id, proxyId: p.id, tenantId: p.tenantId, protocol: l.protocol, address: p.address, port: l.port,
    scheduler: l.scheduler, proxyProtocol: pp,
    connectTimeoutMs: l.connectTimeout * 1000,
    idleTimeoutMs: listenerIdleSeconds(l) * 1000,
    sessionPersistMs: l.sessionPersist * 1000,
    check,
    targets: keep ? old.targets : targets,
    balancer: keep ? old.balancer : createBalancer(strategy, targets),
    signature,
  };
}

interface Indexed {
  bindings: Map<string, L4Objects['bindings']>;
  origins: Map<string, L4Objects['origins'][number]>;
  listenersByHolder: Map<string, StreamListener[]>;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    const list = out.get(k);
    if (list) list.push(t);
    else out.set(k, [t]);
  }
  return out;
}

function index(o: L4Objects): Indexed {
  return {
    bindings: groupBy(o.bindings, (b) => b.listenerId),
    origins: new Map(o.origins.map((x) => [x.id, x])),
    listenersByHolder: groupBy(o.listeners, (l) => l.holderId),
  };
}


/**
 * The L4 plan of one revision for one process: the proxies of the node's access region it
 * serves, each with its budget and its listeners (a group's templates materialised on each
 * of its proxies). A proxy or listener that cannot be built is left out and listed in
 * `problems`; the others apply.
 */
export function buildL4Snapshot(revision: number, objects: L4Objects, deps: L4PlanDeps): L4Snapshot {
  const ix = index(objects);
  const proxies = new Map<string, ProxyPlan>();
  const problems: L4Problem[] = [];
  for (const p of objects.proxies) {
    if (p.accessRegion !== deps.region) continue;
    if (deps.serves && !deps.serves(p.id)) continue;
    try {
      const byteRate = proxyByteRate(p);
      const connectionCap = proxyConnectionCap(p);
      if (!(byteRate > 0) || !Number.isFinite(byteRate)) throw new Error(`byte rate ${byteRate} is not a positive number`);
      if (!(connectionCap >= 0) || !Number.isInteger(connectionCap)) throw new Error(`connection cap ${connectionCap} is not a whole number`);
      const own = ix.listenersByHolder.get(p.id) ?? [];
      const templates = p.groupId === null ? [] : ix.listenersByHolder.get(p.groupId) ?? [];
      const listeners: ListenerPlan[] = [];
      for (const l of [...own, ...templates]) {
        try {
          listeners.push(planListener(p, l, ix, deps));
        } catch (err) {
          problems.push({ kind: 'streamListener', id: l.id, error: messageOf(err) });
        }
      }
      proxies.set(p.id, {
        id: p.id, tenantId: p.tenantId, address: p.address, status: p.status,
        accepting: ACCEPTING.has(p.status), destroying: p.status === 'DESTROYING',
        byteRate, connectionCap, listeners,
      });
    } catch (err) {
      problems.push({ kind: 'proxy', id: p.id, error: messageOf(err) });
    }
  }
  return { revision, proxies, problems };
}
