import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { L4HealthChecker, PING_NOTE, type L4CheckerOptions } from '../../src/health/l4-checker.js';
import { buildL4Snapshot, type L4Snapshot } from '../../src/l4/plan.js';
import { createLogger } from '../../src/logger.js';
import type { Origin, OriginBinding, Proxy, StreamListener, UdpCheck } from '../../src/model/gaap.js';
import { applyUpdate, type HealthUpdate, type MemberState } from '../../src/runtime/member-state.js';
import { EMPTY_L4, type L4Objects } from '../../src/runtime/config.js';
import { until } from '../helpers/wait.js';

// The L4 checker against real origins on loopback, fed snapshots built from stored objects.
// The model keeps DelayLoop >= 5 s; the built plans' checks are sped up (200 ms, 150 ms).

const REGION = 'r-test';
const NOW = new Date().toISOString();
const log = createLogger('silent');

function proxy(id: string, extra: Partial<Proxy> = {}): Proxy {
  return {
    id, tenantId: 't1', cloudProjectId: 0, name: id, groupId: null, accessRegion: REGION, originRegion: 'o', bandwidth: 10, concurrent: 2,
    status: 'RUNNING', address: '127.0.0.31', ipVersion: 'IPv4', networkType: 'normal', packageType: 'Thunder', billingType: 0, tags: [],
    clientToken: null, clonedFrom: null, configChangedAt: null, ext: {}, createdAt: NOW, updatedAt: NOW, ...extra,
  };
}

function listener(id: string, holder: string, protocol: 'tcp' | 'udp', extra: Partial<StreamListener> = {}): StreamListener {
  const group = holder.startsWith('lg-');
  return {
    id, tenantId: 't1', proxyId: group ? null : holder, groupId: group ? holder : null, holderId: holder, name: id, protocol, port: 9000,
    scheduler: 'rr', originType: 'ip', healthCheck: true, delayLoop: 5, connectTimeout: 2, healthyThreshold: 2, unhealthyThreshold: 3,
    clientIp: protocol === 'tcp' ? 'toa' : null, failover: false, udpCheck: null, sessionPersist: 0, status: 'running', ext: {},
    createdAt: NOW, updatedAt: NOW, ...extra,
  };
}

const origin = (id: string, address: string, type: 'ip' | 'domain' = 'ip'): Origin =>
  ({ id, tenantId: 't1', cloudProjectId: 0, address, type, name: id, tags: [], ext: {}, createdAt: NOW, updatedAt: NOW });

const binding = (id: string, listenerId: string, originId: string, port: number): OriginBinding =>
  ({ id, tenantId: 't1', listenerId, originId, port, weight: 1, role: null, createdAt: NOW });

const udpPort = (send: string, receive: string, port = 0): UdpCheck => ({ type: 'port', port, contextType: 'TEXT', send, receive });

/** A checker wired as app.ts wires one: its verdicts land in a state table the snapshots read. */
function rig(opts: L4CheckerOptions & { intervalMs?: number; timeoutMs?: number } = {}) {
  const states = new Map<string, MemberState>();
  const published: HealthUpdate[] = [];
  const state = (key: string) => {
    let s = states.get(key);
    if (!s) states.set(key, (s = { healthy: true, state: 'unknown', reason: 'no verdict yet', since: Date.now() }));
    return s;
  };
  const checker = new L4HealthChecker(log, (u) => { published.push(u); applyUpdate(state(u.key), u); }, opts);
  let revision = 0;
  let previous: L4Snapshot | null = null;
  return {
    checker, published, states,
    /** Builds the revision's plan (fast checks) and hands it to the checker. */
    apply(objects: Partial<L4Objects>): L4Snapshot {
      const s = buildL4Snapshot(++revision, { ...EMPTY_L4, ...objects }, { region: REGION, previous, state });
      assert.deepEqual(s.problems, []);
      for (const p of s.proxies.values()) {
        for (const l of p.listeners) {
          if (l.check) { l.check.intervalMs = opts.intervalMs ?? 200; l.check.timeoutMs = opts.timeoutMs ?? 150; }
        }
      }
      previous = s;
      checker.sync(s);
      return s;
    },
    keyOf(s: L4Snapshot, listenerId: string, bindingId: string): string {
      for (const p of s.proxies.values()) {
        const t = p.listeners.find((l) => l.id === listenerId)?.targets.find((x) => x.id === bindingId);
        if (t) return t.stateKey;
      }
      throw new Error(`no target ${listenerId}/${bindingId}`);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface TcpOrigin { server: Server; port: number; connections: number; close(): Promise<void>; reopen(): Promise<void> }

async function tcpOrigin(host = '127.0.0.1', port = 0): Promise<TcpOrigin> {
  const o: TcpOrigin = {
    server: null as unknown as Server, port, connections: 0,
    close: () => new Promise((r) => { o.server.close(() => r()); }),
    async reopen() {
      o.server = createServer((s) => { o.connections++; s.on('error', () => {}); s.destroy(); });
      await new Promise<void>((r, j) => { o.server.once('error', j); o.server.listen(o.port, host, () => r()); });
      o.port = (o.server.address() as AddressInfo).port;
    },
  };
  await o.reopen();
  return o;
}

async function udpOrigin(host: string, answer: (msg: Buffer) => string | null): Promise<{ sock: UdpSocket; port: number; got: string[] }> {
  const sock = createSocket('udp4');
  const got: string[] = [];
  sock.on('message', (msg, rinfo) => {
    got.push(msg.toString('utf8'));
    const a = answer(msg);
    if (a !== null) sock.send(a, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, host, () => r()));
  return { sock, port: sock.address().port, got };
}

/** A UDP port nobody listens on (bound, then closed). */
async function closedUdpPort(host: string): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, host, () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Whether this machine's ping can send ICMP echo (the checker finds out the same way, on its own). */
const PING_WORKS = await new Promise<boolean>((resolve) => {
  try {
    execFile('ping', ['-c', '1', '-W', '2', '-n', '127.0.0.1'], { timeout: 5000 }, (err) => resolve(!err));
  } catch { resolve(false); }
});

describe('L4 health checks against real origins', () => {
  const closers: (() => unknown)[] = [];
  after(async () => { for (const c of closers) await c(); });

  test('TCP: a closed origin goes unhealthy after UnhealthyThreshold failed connects, and healthy again on the same port', async () => {
    const o = await tcpOrigin();
    const r = rig();
    closers.push(() => r.checker.close());
    const objects = {
      proxies: [proxy('link-tcp00001')],
      listeners: [listener('listener-tcp00001', 'link-tcp00001', 'tcp', { healthyThreshold: 2, unhealthyThreshold: 3 })],
      origins: [origin('rs-tcp00001', '127.0.0.1')],
      bindings: [binding('b-1', 'listener-tcp00001', 'rs-tcp00001', o.port)],
    };
    const s = r.apply(objects);
    const key = r.keyOf(s, 'listener-tcp00001', 'b-1');
    // Eligible from the start, before any verdict.
    assert.equal(r.checker.binding('listener-tcp00001', 'b-1'), null);
    const up = await until('healthy', () => r.published.find((u) => u.key === key && u.state === 'healthy'));
    assert.match(up.reason, /tcp connect .* succeeded \(2 in a row\)/);
    assert.deepEqual(r.checker.binding('listener-tcp00001', 'b-1'), { healthy: true, downIps: [] });
    assert.ok(o.connections >= 2, `the origin saw the probes (${o.connections})`);

    await o.close();
    const sentBefore = r.checker.stats().probesSent;
    const down = await until('unhealthy', () => r.published.find((u) => u.key === key && u.state === 'unhealthy'));
    assert.match(down.reason, /ECONNREFUSED \(3 in a row\)/);
    assert.ok(r.checker.stats().probesSent - sentBefore >= 3, 'three failed probes before the verdict');
    assert.equal(r.states.get(key)!.healthy, false, 'the data plane\'s state follows the verdict');
    assert.deepEqual(r.checker.binding('listener-tcp00001', 'b-1'), { healthy: false, downIps: ['127.0.0.1'] });

    await o.reopen();
    closers.push(() => o.close());
    const again = await until('healthy again', () => r.published.filter((u) => u.key === key && u.state === 'healthy')[1]);
    assert.match(again.reason, /\(2 in a row\)/);
    assert.equal(r.states.get(key)!.healthy, true);
    // Published on changes only: healthy, unhealthy, healthy.
    assert.deepEqual(r.published.filter((u) => u.key === key).map((u) => u.state), ['healthy', 'unhealthy', 'healthy']);
    assert.deepEqual(r.checker.verdicts().map((v) => [v.key, v.state]), [[key, 'healthy']]);
  });

  test('UDP PORT: the expected answer passes; another answer, or a closed port, fails', async () => {
    const good = await udpOrigin('127.0.0.1', (m) => (m.toString() === 'ping' ? 'pong' : null));
    const wrong = await udpOrigin('127.0.0.2', () => 'nope');
    const closed = await closedUdpPort('127.0.0.3');
    closers.push(() => good.sock.close(), () => wrong.sock.close());
    const r = rig();
    closers.push(() => r.checker.close());
    const L = 'listener-udp00001';
    const s = r.apply({
      proxies: [proxy('link-udp00001')],
      listeners: [listener(L, 'link-udp00001', 'udp', { healthyThreshold: 1, unhealthyThreshold: 2, udpCheck: udpPort('ping', 'pong') })],
      origins: [origin('rs-good', '127.0.0.1'), origin('rs-wrong', '127.0.0.2'), origin('rs-closed', '127.0.0.3')],
      bindings: [binding('b-good', L, 'rs-good', good.port), binding('b-wrong', L, 'rs-wrong', wrong.port), binding('b-closed', L, 'rs-closed', closed)],
    });
    await until('three verdicts', () => ['b-good', 'b-wrong', 'b-closed'].every((b) => r.checker.binding(L, b) !== null));
    assert.deepEqual(r.checker.binding(L, 'b-good'), { healthy: true, downIps: [] });
    assert.ok(good.got.length >= 1 && good.got.every((g) => g === 'ping'), 'the origin read SendContext');
    assert.deepEqual(r.checker.binding(L, 'b-closed'), { healthy: false, downIps: ['127.0.0.3'] });
    const st = (b: string) => r.checker.stateOf(r.keyOf(s, L, b))!;
    assert.match(st('b-closed').reason, /port unreachable \(2 in a row\)/);
    await until('wrong answer down', () => r.checker.binding(L, 'b-wrong')?.healthy === false);
    assert.match(st('b-wrong').reason, /answered "nope", not the expected answer/);
    assert.equal(st('b-good').state, 'healthy');
  });

  test('UDP PORT with CheckPort probes that port, not the binding\'s; an empty RecvContext takes any answer', async () => {
    const any = await udpOrigin('127.0.0.1', () => 'whatever');
    const closed = await closedUdpPort('127.0.0.1');
    closers.push(() => any.sock.close());
    const r = rig();
    closers.push(() => r.checker.close());
    r.apply({
      proxies: [proxy('link-udp00002')],
      listeners: [listener('listener-udp00002', 'link-udp00002', 'udp', { healthyThreshold: 1, unhealthyThreshold: 1, udpCheck: udpPort('hello', '', any.port) })],
      origins: [origin('rs-any', '127.0.0.1')],
      bindings: [binding('b-any', 'listener-udp00002', 'rs-any', closed)],
    });
    await until('verdict', () => r.checker.binding('listener-udp00002', 'b-any'));
    assert.deepEqual(r.checker.binding('listener-udp00002', 'b-any'), { healthy: true, downIps: [] });
    assert.equal(any.got[0], 'hello');
  });

  test('a DOMAIN origin: every resolved address probed, the failing ones in downIps, down only when all are', async () => {
    const o = await tcpOrigin('127.0.0.1');
    closers.push(() => o.close());
    // A name with two loopback addresses (the system resolver here may give localhost only one).
    const r = rig({ lookup: async (host) => (host === 'two.example.test' ? [{ address: '127.0.0.1' }, { address: '127.0.0.2' }] : lookup(host, { all: true })) });
    closers.push(() => r.checker.close());
    const L = 'listener-dom00001';
    r.apply({
      proxies: [proxy('link-dom00001')],
      listeners: [listener(L, 'link-dom00001', 'tcp', { originType: 'domain', healthyThreshold: 1, unhealthyThreshold: 2 })],
      origins: [origin('rs-two', 'two.example.test', 'domain'), origin('rs-local', 'localhost', 'domain')],
      bindings: [binding('b-two', L, 'rs-two', o.port), binding('b-local', L, 'rs-local', o.port)],
    });
    const mixed = await until('127.0.0.2 down', () => { const b = r.checker.binding(L, 'b-two'); return b && b.downIps.length > 0 ? b : null; });
    assert.deepEqual(mixed, { healthy: true, downIps: ['127.0.0.2'] });

    // localhost through the system resolver: 127.0.0.1 answers; ::1 (where it resolves) has no server on that port.
    const local = (await lookup('localhost', { all: true })).map((a) => a.address);
    assert.ok(local.includes('127.0.0.1'), `localhost resolves to 127.0.0.1 (${local.join(', ')})`);
    const others = local.filter((a) => a !== '127.0.0.1');
    await until('localhost judged', () => { const b = r.checker.binding(L, 'b-local'); return b && b.downIps.length === others.length ? b : null; });
    assert.deepEqual(r.checker.binding(L, 'b-local'), { healthy: true, downIps: others });

    await o.close();
    await until('all down', () => r.checker.binding(L, 'b-two')?.healthy === false && r.checker.binding(L, 'b-local')?.healthy === false);
    assert.deepEqual(r.checker.binding(L, 'b-two')!.downIps.sort(), ['127.0.0.1', '127.0.0.2']);
    assert.deepEqual(r.checker.binding(L, 'b-local')!.downIps.sort(), [...local].sort());
  });

  test('a name that does not resolve is abnormal with no down addresses', async () => {
    const r = rig();
    closers.push(() => r.checker.close());
    const L = 'listener-dom00002';
    const s = r.apply({
      proxies: [proxy('link-dom00002')],
      listeners: [listener(L, 'link-dom00002', 'tcp', { originType: 'domain', unhealthyThreshold: 2 })],
      origins: [origin('rs-nowhere', 'no-such-origin.invalid', 'domain')],
      bindings: [binding('b-nowhere', L, 'rs-nowhere', 80)],
    });
    await until('verdict', () => r.checker.binding(L, 'b-nowhere'));
    assert.deepEqual(r.checker.binding(L, 'b-nowhere'), { healthy: false, downIps: [] });
    assert.match(r.checker.stateOf(r.keyOf(s, L, 'b-nowhere'))!.reason, /no-such-origin\.invalid does not resolve: .* \(2 in a row\)/);
  });

  test('HealthCheck 0: nothing probed, no verdict; turning checks off withdraws an old verdict', async () => {
    const o = await tcpOrigin();
    closers.push(() => o.close());
    const r = rig();
    closers.push(() => r.checker.close());
    const L = 'listener-off00001';
    const objects = (healthCheck: boolean, port: number) => ({
      proxies: [proxy('link-off00001')],
      listeners: [listener(L, 'link-off00001', 'tcp', { healthCheck, unhealthyThreshold: 1 })],
      origins: [origin('rs-off', '127.0.0.1')],
      bindings: [binding('b-off', L, 'rs-off', port)],
    });
    r.apply(objects(false, o.port));
    await sleep(700);
    assert.equal(o.connections, 0, 'no probe reached the origin');
    assert.deepEqual(r.checker.stats(), { targets: 0, timers: 0, probesInFlight: 0, probesQueued: 0, probesSent: 0 });
    assert.equal(r.checker.binding(L, 'b-off'), null);
    assert.equal(r.checker.healthNote(L), null);
    assert.deepEqual(r.published, []);

    // On against a port nobody listens on: down. Off again: the verdict is withdrawn at once.
    const dead = await tcpOrigin();
    await dead.close();
    const s = r.apply(objects(true, dead.port));
    const key = r.keyOf(s, L, 'b-off');
    await until('down', () => r.states.get(key)?.healthy === false);
    r.apply(objects(false, dead.port));
    assert.equal(r.states.get(key)!.healthy, true);
    assert.equal(r.states.get(key)!.reason, 'health checks are off');
    assert.equal(r.checker.binding(L, 'b-off'), null);
    assert.equal(r.checker.stats().targets, 0);
  });

  test('a binding removed is probed no more; a changed check starts its counters over', async () => {
    const o = await tcpOrigin();
    closers.push(() => o.close());
    const r = rig();
    closers.push(() => r.checker.close());
    const L = 'listener-rem00001';
    const base = {
      proxies: [proxy('link-rem00001')],
      origins: [origin('rs-rem', '127.0.0.1')],
      bindings: [binding('b-rem', L, 'rs-rem', o.port)],
    };
    const s = r.apply({ ...base, listeners: [listener(L, 'link-rem00001', 'tcp', { healthyThreshold: 1 })] });
    const key = r.keyOf(s, L, 'b-rem');
    await until('healthy', () => r.states.get(key)?.state === 'healthy');

    // Another threshold: a new check, so the old verdict goes and a new one comes.
    r.apply({ ...base, listeners: [listener(L, 'link-rem00001', 'tcp', { healthyThreshold: 2 })] });
    assert.equal(r.states.get(key)!.state, 'unknown');
    await until('healthy under the new check', () => r.states.get(key)?.state === 'healthy');
    assert.match(r.states.get(key)!.reason, /\(2 in a row\)/);

    r.apply({ ...base, bindings: [], listeners: [listener(L, 'link-rem00001', 'tcp', { healthyThreshold: 2 })] });
    await sleep(300); // a probe in flight at removal settles within its 150 ms deadline
    const seen = o.connections;
    await sleep(700);
    assert.equal(o.connections, seen, 'no probe after the removal');
    assert.deepEqual(r.checker.stats(), { targets: 0, timers: 0, probesInFlight: 0, probesQueued: 0, probesSent: r.checker.stats().probesSent });
    assert.equal(r.checker.binding(L, 'b-rem'), null);
    assert.deepEqual(r.checker.verdicts(), []);
  });

  test('a group listener carried by two proxies of the region is one binding, probed once', async () => {
    const o = await tcpOrigin();
    closers.push(() => o.close());
    const r = rig({ intervalMs: 400 });
    closers.push(() => r.checker.close());
    const L = 'listener-grp00001';
    r.apply({
      proxies: [proxy('link-grp00001', { groupId: 'lg-grp00001', address: '127.0.0.32' }), proxy('link-grp00002', { groupId: 'lg-grp00001', address: '127.0.0.33' })],
      listeners: [listener(L, 'lg-grp00001', 'tcp', { healthyThreshold: 1 })],
      origins: [origin('rs-grp', '127.0.0.1')],
      bindings: [binding('b-grp', L, 'rs-grp', o.port)],
    });
    await until('healthy', () => r.checker.binding(L, 'b-grp')?.healthy);
    assert.equal(r.checker.stats().targets, 1);
  });

  test(`UDP PING ${PING_WORKS ? 'through the system ping' : 'on a node that cannot send ICMP: a note, and normal'}`, async () => {
    const r = rig({ intervalMs: 1500, timeoutMs: 1000 });
    closers.push(() => r.checker.close());
    const L = 'listener-png00001';
    r.apply({
      proxies: [proxy('link-png00001')],
      listeners: [listener(L, 'link-png00001', 'udp', { healthyThreshold: 1, unhealthyThreshold: 1, udpCheck: { type: 'ping', port: 0, contextType: 'TEXT', send: '', receive: '' } })],
      // 240.0.0.1 is reserved (class E): never assigned, never answers.
      origins: [origin('rs-png-up', '127.0.0.1'), origin('rs-png-down', '240.0.0.1')],
      bindings: [binding('b-up', L, 'rs-png-up', 53), binding('b-down', L, 'rs-png-down', 53)],
    });
    if (PING_WORKS) {
      await until('ping verdicts', () => r.checker.binding(L, 'b-up') && r.checker.binding(L, 'b-down'), 15_000);
      assert.deepEqual(r.checker.binding(L, 'b-up'), { healthy: true, downIps: [] });
      assert.deepEqual(r.checker.binding(L, 'b-down'), { healthy: false, downIps: ['240.0.0.1'] });
      assert.equal(r.checker.healthNote(L), null);
    } else {
      const note = await until('the note', () => r.checker.healthNote(L));
      assert.ok(note.startsWith(PING_NOTE), note);
      assert.match(note, /ICMP/);
      // Each binding's first round finds that PING cannot run, and schedules no other.
      await until('nothing scheduled', () => r.checker.stats().timers === 0, 5000);
      assert.equal(r.checker.stats().probesSent, 0);
      assert.equal(r.checker.binding(L, 'b-up'), null);
      assert.equal(r.checker.binding(L, 'b-down'), null);
      assert.deepEqual(r.published, []);
    }
  });
});
