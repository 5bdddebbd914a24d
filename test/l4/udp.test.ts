import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import dgram, { type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../src/logger.js';
import { ProxyBudget } from '../../src/l4/budget.js';
import { RateLimitedLog, type ListenerContext } from '../../src/l4/listener.js';
import { OriginPicker } from '../../src/l4/pick.js';
import { buildL4Snapshot, type L4Snapshot, type ListenerPlan } from '../../src/l4/plan.js';
import { UdpListener } from '../../src/l4/udp.js';
import type { Origin, OriginBinding, Proxy, StreamListener } from '../../src/model/gaap.js';
import type { L4Objects } from '../../src/runtime/config.js';
import type { MemberState } from '../../src/runtime/member-state.js';
import { until } from '../helpers/wait.js';

const REGION = 'ap-test';
const T0 = '2026-01-01T00:00:00.000Z';
const log = createLogger('silent');

/** Each test's proxy gets its own loopback address (they stand for proxy addresses). */
let nextAddress = 31;
function proxyAddress(): string { return `127.0.0.${nextAddress++}`; }

let proxySeq = 1;

async function freePort(address: string): Promise<number> {
  const s = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((r) => s.bind({ port: 0, address, exclusive: true }, r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}


interface Received { size: number; from: number; data: Buffer }

/** A UDP origin on 127.0.0.1 that records what it gets and answers with `answer` (echo by default). */
interface Origin4 {
  sock: Socket;
  host: string;
  port: number;
  got: Received[];
  /** Distinct source ports seen: one per session. */
  sources(): Set<number>;
  close(): Promise<void>;
}

async function origin(t: TestContext, answer?: (o: Origin4, msg: Buffer, port: number, address: string) => void, host = '127.0.0.1', port = 0): Promise<Origin4> {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const o: Origin4 = {
    sock, host, port: 0, got: [],
    sources: () => new Set(o.got.map((g) => g.from)),
    close: () => new Promise<void>((r) => { try { sock.close(() => r()); } catch { r(); } }),
  };
  sock.on('message', (msg, rinfo) => {
    o.got.push({ size: msg.length, from: rinfo.port, data: msg });
    if (answer) answer(o, msg, rinfo.port, rinfo.address);
    else sock.send(msg, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind({ port, address: host, exclusive: true }, r));
  o.port = sock.address().port;
  t.after(() => o.close());
  return o;
}

interface Client { sock: Socket; got: Buffer[]; send(b: Buffer | string): void; close(): Promise<void> }

async function client(t: TestContext, to: { address: string; port: number }): Promise<Client> {
  const v6 = to.address.includes(':');
  const sock = dgram.createSocket(v6 ? 'udp6' : 'udp4');
  const c: Client = {
    sock, got: [],
    send: (b) => sock.send(typeof b === 'string' ? Buffer.from(b) : b, to.port, to.address),
    close: () => new Promise<void>((r) => { try { sock.close(() => r()); } catch { r(); } }),
  };
  sock.on('message', (m) => c.got.push(m));
  await new Promise<void>((r) => sock.bind({ port: 0, address: v6 ? '::1' : '127.0.0.1' }, r));
  t.after(() => c.close());
  return c;
}

/** Sends and waits for the next reply. */
async function ask(c: Client, b: Buffer | string, what = 'a reply'): Promise<Buffer> {
  const n = c.got.length;
  c.send(b);
  await until(what, () => c.got.length > n);
  return c.got[n]!;
}

/** Nothing comes back for a while (the datagrams were dropped). */
async function silent(c: Client, b: Buffer | string, count = 1): Promise<void> {
  const n = c.got.length;
  for (let i = 0; i < count; i++) c.send(b);
  await sleep(300);
  assert.equal(c.got.length, n, 'no reply expected');
}

interface Options {
  origins: Origin4[];
  scheduler?: 'rr' | 'wrr' | 'lc';
  connectionCap?: number;
  byteRate?: number;
  idleTimeout?: number;
  /** Origin addresses as stored (default: each origin's host). */
  hosts?: string[];
  ports?: number[];
  /** The proxy's address (default: the next 127.0.0.x). */
  address?: string;
}

interface Rig {
  listener: UdpListener;
  budget: ProxyBudget;
  plan: ListenerPlan;
  snapshot: L4Snapshot;
  objects: L4Objects;
  states: Map<string, MemberState>;
  at: { address: string; port: number };
  /** A plan of the same listener bound to a subset of the origins (by index). */
  rebind(indexes: number[]): ListenerPlan;
}

async function rig(t: TestContext, o: Options): Promise<Rig> {
  const address = o.address ?? proxyAddress();
  const port = await freePort(address);
  const proxy: Proxy = {
    id: `link-${String(proxySeq++).padStart(8, '0')}`, tenantId: 'tenant-1', cloudProjectId: 0, name: 'p', groupId: null,
    accessRegion: REGION, originRegion: 'origin-1', bandwidth: 10, concurrent: 2, status: 'RUNNING',
    address, ipVersion: address.includes(':') ? 'IPv6' : 'IPv4', networkType: 'normal', packageType: 'Thunder', billingType: 0, tags: [],
    clientToken: null, clonedFrom: null, configChangedAt: null,
    connectionCap: o.connectionCap ?? null, byteRate: o.byteRate ?? null,
    ext: {}, createdAt: T0, updatedAt: T0,
  };
  const listener: StreamListener = {
    id: 'listener-udp00001', tenantId: 'tenant-1', proxyId: proxy.id, groupId: null, holderId: proxy.id, name: 'u',
    protocol: 'udp', port, scheduler: o.scheduler ?? 'rr', originType: 'ip', healthCheck: false,
    delayLoop: 5, connectTimeout: 2, healthyThreshold: 3, unhealthyThreshold: 3, clientIp: null, failover: false,
    udpCheck: null, sessionPersist: 0, ...(o.idleTimeout !== undefined ? { idleTimeout: o.idleTimeout } : {}),
    status: 'running', ext: {}, createdAt: T0, updatedAt: T0,
  };
  const origins: Origin[] = o.origins.map((x, i) => ({
    id: `rs-0000000${i}`, tenantId: 'tenant-1', cloudProjectId: 0, address: o.hosts?.[i] ?? x.host,
    type: /^[\d.:]+$/.test(o.hosts?.[i] ?? x.host) ? 'ip' : 'domain', name: `o${i}`, tags: [], ext: {}, createdAt: T0, updatedAt: T0,
  }));
  const bindings: OriginBinding[] = o.origins.map((x, i) => ({
    id: `bind-${i}`, tenantId: 'tenant-1', listenerId: listener.id, originId: origins[i]!.id,
    port: o.ports?.[i] ?? x.port, weight: 1, role: null, createdAt: T0,
  }));
  const objects: L4Objects = { regions: [], proxies: [proxy], listeners: [listener], origins, bindings };
  const states = new Map<string, MemberState>();
  const state = (key: string): MemberState => {
    let s = states.get(key);
    if (!s) states.set(key, (s = { healthy: true, state: 'unknown', reason: 'no verdict yet', since: Date.now() }));
    return s;
  };
  const snapshot = buildL4Snapshot(1, objects, { region: REGION, previous: null, state });
  assert.deepEqual(snapshot.problems, []);
  const pp = snapshot.proxies.get(proxy.id)!;
  const plan = pp.listeners[0]!;
  const budget = new ProxyBudget(pp.byteRate, pp.connectionCap);
  const ctx: ListenerContext = { budget, picker: new OriginPicker(), log, refusalLog: new RateLimitedLog(log) };
  const l = new UdpListener(plan, ctx);
  t.after(async () => { await l.drain(0, 0); budget.close(); });
  await l.start();
  return {
    listener: l, budget, plan, snapshot, objects, states, at: { address, port },
    rebind: (indexes) => {
      const next = { ...objects, bindings: indexes.map((i) => bindings[i]!) };
      return buildL4Snapshot(2, next, { region: REGION, previous: snapshot, state }).proxies.get(proxy.id)!.listeners[0]!;
    },
  };
}

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (seed + i * 7) & 0xff;
  return b;
}

describe('UDP listener', { concurrency: true }, () => {
  test('round trip keeps datagram boundaries, from 1 byte to 8 KB', async (t) => {
    const o = await origin(t);
    const r = await rig(t, { origins: [o] });
    const c = await client(t, r.at);
    const sizes = [1, 2, 100, 1400, 4096, 8192];
    const sent = sizes.map((n, i) => pattern(n, i));
    for (const b of sent) c.send(b);
    await until('every echo', () => c.got.length === sizes.length);
    const key = (b: Buffer) => b.toString('hex');
    assert.deepEqual(c.got.map(key).sort(), sent.map(key).sort());
    assert.deepEqual(o.got.map((g) => g.size).sort((a, b) => a - b), sizes);
    assert.equal(r.listener.open, 1);
    assert.equal(r.listener.stats.sessionsOpened, 1);
    assert.equal(r.listener.stats.datagramsIn, sizes.length);
    assert.equal(r.listener.stats.datagramsOut, sizes.length);
    assert.equal(r.listener.stats.bytesIn, sizes.reduce((a, b) => a + b, 0));
    assert.equal(r.budget.connections, 1);
  });

  test('an IPv6 proxy address carries sessions to IPv4 and IPv6 origins', async (t) => {
    const os = await Promise.all([origin(t), origin(t, undefined, '::1')]);
    const r = await rig(t, { origins: os, address: '::1' });
    const [a, b] = await Promise.all([client(t, r.at), client(t, r.at)]);
    assert.equal((await ask(a, 'six a')).toString(), 'six a');
    assert.equal((await ask(b, 'six b')).toString(), 'six b');
    assert.deepEqual(os.map((o) => o.got.length), [1, 1]);
  });

  test('two clients get two sessions, each with its own origin socket', async (t) => {
    const o = await origin(t);
    const r = await rig(t, { origins: [o] });
    const a = await client(t, r.at);
    const b = await client(t, r.at);
    assert.equal((await ask(a, 'from a')).toString(), 'from a');
    assert.equal((await ask(b, 'from b')).toString(), 'from b');
    assert.equal((await ask(a, 'again a')).toString(), 'again a');
    assert.equal(o.sources().size, 2);
    assert.deepEqual(a.got.map(String), ['from a', 'again a']);
    assert.deepEqual(b.got.map(String), ['from b']);
    assert.equal(r.listener.open, 2);
    assert.equal(r.budget.connections, 2);
  });

  test('rr shares sessions equally over 3 origins, and a session stays on its origin', async (t) => {
    const os = await Promise.all([origin(t), origin(t), origin(t)]);
    const r = await rig(t, { origins: os, scheduler: 'rr' });
    const clients = await Promise.all(Array.from({ length: 9 }, () => client(t, r.at)));
    for (const c of clients) await ask(c, 'one');
    for (const c of clients) await ask(c, 'two');
    for (const o of os) {
      assert.equal(o.sources().size, 3, 'three sessions per origin');
      assert.equal(o.got.length, 6, 'both datagrams of each session on the same origin');
    }
    assert.equal(r.listener.open, 9);
  });

  test('an idle session expires, an active one does not, and the next datagram opens a new one', async (t) => {
    const o = await origin(t);
    const r = await rig(t, { origins: [o], idleTimeout: 1 });
    const busy = await client(t, r.at);
    const idle = await client(t, r.at);
    await ask(busy, 'x');
    await ask(idle, 'y');
    const t0 = Date.now();
    // 2.5 s of traffic on one session only (bounded loop).
    for (let i = 0; i < 10; i++) { await ask(busy, `x${i}`); await sleep(250); }
    await until('the idle session to expire', () => r.listener.open === 1);
    assert.ok(Date.now() - t0 >= 900, 'not expired before its idle timeout');
    assert.equal(r.listener.stats.sessionsExpired, 1);
    assert.equal(r.budget.connections, 1);
    await until('the busy one to expire too', () => r.listener.open === 0);
    assert.equal(r.budget.connections, 0);
    assert.equal(r.listener.stats.sessionsExpired, 2);
    assert.equal((await ask(idle, 'back')).toString(), 'back');
    assert.equal(r.listener.stats.sessionsOpened, 3);
    assert.equal(o.sources().size, 3, 'a new origin socket for the new session');
    assert.equal(r.budget.connections, 1);
  });

  test('a session whose origin turns unhealthy re-picks on its next datagram', async (t) => {
    const os = await Promise.all([origin(t), origin(t)]);
    const r = await rig(t, { origins: os });
    const c = await client(t, r.at);
    await ask(c, 'first');
    const pinned = os.findIndex((o) => o.got.length === 1);
    assert.ok(pinned >= 0);
    const other = os[1 - pinned]!;
    const target = r.plan.targets.find((x) => x.port === os[pinned]!.port)!;
    target.state.healthy = false;
    target.state.state = 'unhealthy';
    assert.equal((await ask(c, 'second')).toString(), 'second');
    assert.equal(other.got.length, 1);
    assert.equal(os[pinned]!.got.length, 1);
    assert.equal(r.listener.stats.repicks, 1);
    assert.equal(r.listener.open, 1);
    assert.equal(r.budget.connections, 1);
    // Stays on the new origin while the old one is down; no re-pick per datagram.
    await ask(c, 'third');
    assert.equal(other.got.length, 2);
    assert.equal(r.listener.stats.repicks, 1);
  });

  test('all origins unhealthy: the session fails open and keeps its socket', async (t) => {
    const o = await origin(t);
    const r = await rig(t, { origins: [o] });
    const c = await client(t, r.at);
    await ask(c, 'a');
    r.plan.targets[0]!.state.healthy = false;
    r.plan.targets[0]!.state.state = 'unhealthy';
    await ask(c, 'b');
    await ask(c, 'c');
    assert.equal(o.sources().size, 1);
    assert.equal(r.listener.stats.repicks, 0);
  });

  test('update(): an unbound origin makes its sessions re-pick, a kept binding keeps its sessions', async (t) => {
    const os = await Promise.all([origin(t), origin(t), origin(t)]);
    const r = await rig(t, { origins: os.slice(0, 2), scheduler: 'lc' });
    const a = await client(t, r.at);
    const b = await client(t, r.at);
    await ask(a, 'a1');
    await ask(b, 'b1');
    const onA = os.findIndex((o) => o.got.some((g) => g.data.toString() === 'a1'));
    const onB = 1 - onA;
    assert.equal(os[onB]!.got.length, 1, 'lc spreads two sessions over two origins');
    // Unbind a's origin and keep b's (the builder makes new target objects for the new set).
    const next = r.rebind([onB]);
    assert.notEqual(next.targets, r.plan.targets);
    r.listener.update(next);
    await ask(a, 'a2');
    await ask(b, 'b2');
    assert.deepEqual(os[onB]!.got.map((g) => g.data.toString()), ['b1', 'a2', 'b2']);
    assert.equal(os[onB]!.sources().size, 2, "b's session kept its socket; a got a new one");
    assert.equal(r.listener.stats.repicks, 1);
    assert.equal(r.listener.open, 2);
  });

  test('at the concurrency cap a new client is dropped and counted; one expires and the next gets in', async (t) => {
    const o = await origin(t);
    const r = await rig(t, { origins: [o], connectionCap: 2, idleTimeout: 1 });
    const [c1, c2, c3] = await Promise.all([client(t, r.at), client(t, r.at), client(t, r.at)]);
    await ask(c1, '1');
    await ask(c2, '2');
    await silent(c3, '3', 3);
    assert.equal(r.listener.stats.droppedAtCap, 3);
    assert.equal(r.budget.refused, 3);
    assert.equal(r.listener.open, 2);
    assert.equal((await ask(c1, '1b')).toString(), '1b');
    assert.equal((await ask(c2, '2b')).toString(), '2b');
    // c2 keeps talking, c1 goes quiet and expires (bounded: 40 x 150 ms).
    for (let i = 0; i < 40 && r.listener.open === 2; i++) { await ask(c2, `k${i}`); await sleep(150); }
    assert.equal(r.listener.open, 1);
    assert.equal((await ask(c3, '3b')).toString(), '3b');
    assert.equal(r.listener.open, 2);
    assert.equal(r.budget.connections, 2);
    assert.equal(o.got.filter((g) => g.data.toString().startsWith('3')).length, 1, 'only the admitted datagram reached the origin');
  });

  test('byte policing client to origin: a burst over the bucket is partly dropped, the counts match what arrived', async (t) => {
    const o = await origin(t);
    const rate = 20_000;
    const r = await rig(t, { origins: [o], byteRate: rate });
    const c = await client(t, r.at);
    const size = 1000;
    const total = 200;
    const t0 = performance.now();
    // Paced in small batches so that the kernel's socket buffers never overflow.
    for (let i = 0; i < total; i += 10) {
      for (let j = 0; j < 10; j++) c.send(pattern(size, i + j));
      await new Promise((res) => setImmediate(res));
    }
    const s = r.listener.stats;
    await until('the burst to be accounted for', () => s.datagramsIn + s.droppedBudgetIn === total);
    const elapsed = (performance.now() - t0) / 1000;
    await until('the echoes to be accounted for', () => s.datagramsOut + s.droppedBudgetOut === s.datagramsIn);
    assert.ok(s.droppedBudgetIn > 0, 'some were dropped');
    assert.equal(o.got.length, s.datagramsIn, 'the origin got exactly what was forwarded');
    assert.ok(o.got.every((g) => g.size === size));
    assert.equal(s.bytesIn, s.datagramsIn * size);
    // The bucket holds at most max(64 KiB, 0.1 s of rate) and refills at the rate.
    const allowed = 64 * 1024 + rate * elapsed;
    assert.ok(s.bytesIn <= allowed + size, `forwarded ${s.bytesIn} B, bucket allows ${Math.round(allowed)}`);
    assert.ok(s.bytesIn >= 32 * 1024, `forwarded ${s.bytesIn} B: at least half the bucket`);
    await until('replies', () => c.got.length === s.datagramsOut);
    assert.equal(c.got.length, s.datagramsOut);
  });

  test('byte policing origin to client: a reply burst over the bucket is partly dropped', async (t) => {
    const size = 1000;
    const total = 150;
    const o = await origin(t, (self, _msg, port, address) => {
      let i = 0;
      const batch = (): void => {
        for (let j = 0; j < 10 && i < total; j++, i++) self.sock.send(pattern(size, i), port, address);
        if (i < total) setImmediate(batch);
      };
      batch();
    });
    const rate = 20_000;
    const r = await rig(t, { origins: [o], byteRate: rate });
    const c = await client(t, r.at);
    c.send('go');
    const s = r.listener.stats;
    await until('the replies to be accounted for', () => s.datagramsOut + s.droppedBudgetOut === total);
    assert.ok(s.droppedBudgetOut > 0);
    assert.ok(s.bytesOut <= 64 * 1024 + rate * 2 + size);
    await until('the client to get what was forwarded', () => c.got.length === s.datagramsOut);
    assert.ok(c.got.every((b) => b.length === size));
    assert.equal(s.bytesOut, c.got.length * size);
  });

  test('setAccepting(false) keeps existing sessions and refuses new ones; true accepts again', async (t) => {
    const o = await origin(t);
    const r = await rig(t, { origins: [o] });
    const [a, b] = await Promise.all([client(t, r.at), client(t, r.at)]);
    await ask(a, 'a1');
    await r.listener.setAccepting(false);
    assert.equal((await ask(a, 'a2')).toString(), 'a2');
    await silent(b, 'b1', 2);
    assert.equal(r.listener.stats.droppedNotAccepting, 2);
    assert.equal(r.listener.open, 1);
    assert.equal(r.budget.connections, 1);
    await r.listener.setAccepting(true);
    assert.equal((await ask(b, 'b2')).toString(), 'b2');
    assert.equal(r.listener.open, 2);
  });

  test('drain lets sessions run to the deadline, then closes them all and the socket', async (t) => {
    const o = await origin(t);
    const r = await rig(t, { origins: [o] });
    const [a, b, late] = await Promise.all([client(t, r.at), client(t, r.at), client(t, r.at)]);
    await ask(a, 'a');
    await ask(b, 'b');
    const t0 = Date.now();
    const drained = r.listener.drain(600, 200);
    assert.equal((await ask(a, 'a during drain')).toString(), 'a during drain');
    await silent(late, 'late');
    await drained;
    const took = Date.now() - t0;
    assert.ok(took >= 550, `sessions were given the deadline (${took} ms)`);
    assert.ok(took < 5000, `drain ended by the deadline (${took} ms)`);
    assert.equal(r.listener.open, 0);
    assert.equal(r.budget.connections, 0);
    // The port is free again.
    const again = dgram.createSocket('udp4');
    await new Promise<void>((res, rej) => { again.once('error', rej); again.bind({ ...r.at, exclusive: true }, res); });
    await new Promise<void>((res) => again.close(() => res()));
  });

  test('drain with no sessions resolves at once', async (t) => {
    const o = await origin(t);
    const r = await rig(t, { origins: [o] });
    const t0 = Date.now();
    await r.listener.drain(30_000, 5_000);
    assert.ok(Date.now() - t0 < 2000);
    await assert.rejects(r.listener.start(), /drained/);
  });

  test('ICMP port unreachable from the origin does not end the session; the next datagram gets through once it is up', async (t) => {
    const deadPort = await freePort('127.0.0.1');
    const placeholder: Origin4 = { sock: null as unknown as Socket, host: '127.0.0.1', port: deadPort, got: [], sources: () => new Set(), close: async () => {} };
    const r = await rig(t, { origins: [placeholder] });
    const c = await client(t, r.at);
    c.send('nobody home');
    await until('the refusal to arrive', () => r.listener.stats.originErrors >= 1);
    assert.equal(r.listener.open, 1);
    const o = await origin(t, undefined, '127.0.0.1', deadPort);
    assert.equal((await ask(c, 'now?')).toString(), 'now?');
    assert.equal(r.listener.stats.sessionsOpened, 1);
    assert.equal(o.got.length, 1);
  });

  test('an origin named by a domain is resolved per session; one that does not resolve ends its session', async (t) => {
    const { address } = await lookup('localhost');
    const o = await origin(t, undefined, address);
    const r = await rig(t, { origins: [o], hosts: ['localhost'] });
    const c = await client(t, r.at);
    assert.equal((await ask(c, 'by name')).toString(), 'by name');

    const dead: Origin4 = { sock: null as unknown as Socket, host: 'no-such-host.invalid', port: 9, got: [], sources: () => new Set(), close: async () => {} };
    const r2 = await rig(t, { origins: [dead] });
    const c2 = await client(t, r2.at);
    c2.send('lost');
    await until('the failed lookup to end the session', () => r2.listener.stats.originErrors === 1 && r2.listener.open === 0, 10_000);
    assert.equal(r2.budget.connections, 0);
  });
});

// Alone, after the concurrent suite: it counts the process's UDP handles.
describe('UDP listener on a taken port', () => {
  test('a port already taken: start() rejects and nothing is left open; accepting again binds once it is free', async (t) => {
    const o = await origin(t);
    const address = proxyAddress();
    const blocker = dgram.createSocket('udp4');
    await new Promise<void>((res) => blocker.bind({ address, port: 0, exclusive: true }, res));
    const port = blocker.address().port;
    const udpHandles = () => process.getActiveResourcesInfo().filter((x) => x === 'UDPWrap').length;
    // Reuse the rig's plan shape on the taken port.
    const r = await rig(t, { origins: [o] });
    const plan = { ...r.plan, address, port };
    const budget = new ProxyBudget(1_000_000, 10);
    t.after(() => budget.close());
    const l = new UdpListener(plan, { budget, picker: new OriginPicker(), log, refusalLog: new RateLimitedLog(log) });
    t.after(() => l.drain(0, 0));
    // Sockets closed by earlier tests leave the handle list a moment later.
    await sleep(200);
    const before = udpHandles();
    await assert.rejects(l.start(), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
    await assert.rejects(l.setAccepting(true), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
    await sleep(50);
    assert.equal(udpHandles(), before, 'no socket left behind');
    await new Promise<void>((res) => blocker.close(() => res()));
    await l.setAccepting(true);
    const c = await client(t, { address, port });
    assert.equal((await ask(c, 'bound')).toString(), 'bound');
  });
});
