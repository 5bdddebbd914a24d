import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { ServerOptions as TlsServerOptions } from 'node:https';
import selfsigned from 'selfsigned';
import { echo, members, startBackend, type Backend } from '../helpers/backends.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/** A backend whose health endpoint and traffic answers can be switched at run time. */
interface Switchable extends Backend {
  /** Status /health answers; 0 = hang (never answer). */
  healthStatus: number;
  /** Status ordinary requests answer (200 = echo). */
  trafficStatus: number;
  probes: number;
}

async function switchable(name: string, tls?: TlsServerOptions): Promise<Switchable> {
  let sw: Switchable | null = null;
  const b = await startBackend(name, (req, res, n) => {
    const ctl = sw!;
    if (req.url === '/health') {
      ctl.probes++;
      if (ctl.healthStatus === 0) return; // hang
      res.writeHead(ctl.healthStatus).end();
      return;
    }
    if (ctl.trafficStatus !== 200) { req.resume(); res.writeHead(ctl.trafficStatus).end(); return; }
    echo(req, res, n);
  }, tls);
  sw = Object.assign(b, { healthStatus: 200, trafficStatus: 200, probes: 0 });
  return sw;
}

const HTTP_CHECK = { active: true, protocol: 'http', path: '/health', interval: 2, timeout: 1, healthyThreshold: 2, unhealthyThreshold: 3 };

describe('health checking against real backends', { concurrency: true }, () => {
  let gw: TestGateway;
  const open: Backend[] = [];
  let hostSeq = 0;

  let clientPems: { cert: string; private: string };

  before(async () => {
    // The gateway's own client certificate, for members that want two-way TLS.
    clientPems = await selfsigned.generate([{ name: 'commonName', value: 'sluice-gateway' }], { keySize: 2048 });
    gw = await startTestGateway({ upstreamClientCert: { cert: clientPems.cert, key: clientPems.private } });
  });
  after(async () => {
    await gw.close();
    await Promise.all(open.map((b) => b.close()));
  });

  async function backends(...names: string[]): Promise<Switchable[]> {
    const bs = await Promise.all(names.map((n) => switchable(n)));
    open.push(...bs);
    return bs;
  }

  async function exposeWithHost(upstream: Record<string, unknown>) {
    const host = `h${++hostSeq}.health.test`;
    const u = await gw.expose(upstream, { hosts: [host] });
    return { u, host };
  }

  async function healthOf(id: string): Promise<{ memberId: string; port: number; state: string; reason: string; since: string | null }[]> {
    const r = await gw.api('GET', `/v1/upstreams/${id}/health`);
    assert.equal(r.status, 200);
    return r.body.members;
  }

  async function until<T>(what: string, fn: () => Promise<T | null | false>, ms: number): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const stateOf = async (id: string, port: number) => (await healthOf(id)).find((m) => m.port === port)!.state;

  async function names(host: string, n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await request(`${gw.proxyUrl}/`, { headers: { host } });
      const text = await res.body.text();
      out.push(res.statusCode === 200 ? (JSON.parse(text) as { name: string }).name : `status ${res.statusCode} ${res.headers['x-sluice-error'] ?? ''}`);
    }
    return out;
  }

  test('HTTP probes: one failed probe does not flip a member with threshold 3; three do; it recovers', { timeout: 40_000 }, async () => {
    const [a, b] = await backends('a', 'b');
    const { u, host } = await exposeWithHost({ members: members([a!, b!]), healthCheck: HTTP_CHECK });
    await until('a healthy', async () => (await stateOf(u.id, a!.port)) === 'healthy', 8000);
    // One failure between successes: still healthy.
    a!.healthStatus = 500;
    const seen = a!.probes;
    await until('one failed probe', async () => a!.probes > seen, 5000);
    a!.healthStatus = 200;
    const after1 = a!.probes;
    await until('two more probes', async () => a!.probes >= after1 + 2, 8000);
    assert.equal(await stateOf(u.id, a!.port), 'healthy');
    // Three in a row: unhealthy, and out of rotation.
    a!.healthStatus = 503;
    await until('a unhealthy', async () => (await stateOf(u.id, a!.port)) === 'unhealthy', 10_000);
    const h = (await healthOf(u.id)).find((m) => m.port === a!.port)!;
    assert.match(h.reason, /503/);
    assert.ok(h.since);
    assert.deepEqual([...new Set(await names(host, 10))], ['b']);
    a!.healthStatus = 200;
    await until('a healthy again', async () => (await stateOf(u.id, a!.port)) === 'healthy', 8000);
    assert.ok((await names(host, 10)).includes('a'));
  });

  test('TCP probes follow a member that stops and starts listening', { timeout: 40_000 }, async () => {
    const [a, b] = await backends('tcp-a', 'tcp-b');
    const { u, host } = await exposeWithHost({ members: members([a!, b!]), healthCheck: { ...HTTP_CHECK, protocol: 'tcp', unhealthyThreshold: 2 } });
    await until('healthy', async () => (await stateOf(u.id, a!.port)) === 'healthy', 8000);
    await a!.kill();
    await until('unhealthy', async () => (await stateOf(u.id, a!.port)) === 'unhealthy', 8000);
    assert.deepEqual([...new Set(await names(host, 6))], ['tcp-b']);
    await a!.revive();
    await until('healthy again', async () => (await stateOf(u.id, a!.port)) === 'healthy', 8000);
  });

  test('HTTPS probes with SNI to a self-signed member, verification off', { timeout: 30_000 }, async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'hc.test' }], { keySize: 2048 });
    const s = await switchable('tls', { key: pems.private, cert: pems.cert });
    open.push(s);
    let sni = '';
    s.server.on('secureConnection', (sock: { servername?: string }) => { sni = sock.servername ?? ''; });
    const { u } = await exposeWithHost({ scheme: 'https', tlsVerify: false, upstreamHost: 'hc.test', members: members([s]), healthCheck: { ...HTTP_CHECK, protocol: 'https' } });
    await until('healthy', async () => (await stateOf(u.id, s.port)) === 'healthy', 8000);
    assert.equal(sni, 'hc.test');
    s.healthStatus = 500;
    await until('unhealthy', async () => (await stateOf(u.id, s.port)) === 'unhealthy', 10_000);
  });

  test('HTTPS probes present the gateway client certificate when the check asks for client TLS', { timeout: 30_000 }, async () => {
    const server = await selfsigned.generate([{ name: 'commonName', value: 'mtls.test' }], { keySize: 2048 });
    // The member accepts only clients whose certificate the gateway's signs (two-way TLS).
    const s = await switchable('mtls', { key: server.private, cert: server.cert, requestCert: true, rejectUnauthorized: true, ca: [clientPems.cert] });
    open.push(s);
    let peer = '';
    s.server.on('secureConnection', (sock: { getPeerCertificate(): { subject?: { CN?: string } } }) => { peer = sock.getPeerCertificate().subject?.CN ?? ''; });
    const check = { ...HTTP_CHECK, protocol: 'https', healthyThreshold: 1, unhealthyThreshold: 1 };
    const { u: withCert } = await exposeWithHost({ scheme: 'https', tlsVerify: false, members: members([s]), healthCheck: { ...check, clientTls: true } });
    const { u: without } = await exposeWithHost({ scheme: 'https', tlsVerify: false, members: members([s]), healthCheck: { ...check, clientTls: false } });
    await until('healthy with the certificate', async () => (await stateOf(withCert.id, s.port)) === 'healthy', 8000);
    assert.equal(peer, 'sluice-gateway');
    await until('unhealthy without it', async () => (await stateOf(without.id, s.port)) === 'unhealthy', 8000);
  });

  test('accepted status ranges decide the verdict', { timeout: 30_000 }, async () => {
    const [a] = await backends('ranges');
    a!.healthStatus = 215;
    const { u } = await exposeWithHost({ members: members([a!]), healthCheck: { ...HTTP_CHECK, healthyThreshold: 1, unhealthyThreshold: 1, healthyStatuses: '200,204,210-219' } });
    await until('215 is healthy', async () => (await stateOf(u.id, a!.port)) === 'healthy', 6000);
    a!.healthStatus = 205;
    await until('205 is not', async () => (await stateOf(u.id, a!.port)) === 'unhealthy', 6000);
    a!.healthStatus = 204;
    await until('204 is', async () => (await stateOf(u.id, a!.port)) === 'healthy', 6000);
  });

  test('passive checks mark a member from real traffic and it comes back after the unhealthy timeout', { timeout: 30_000 }, async () => {
    const [a, b] = await backends('pa', 'pb');
    a!.trafficStatus = 503;
    const { u, host } = await exposeWithHost({ members: members([a!, b!]), healthCheck: { active: false, passive: true, httpFailureThreshold: 2, unhealthyTimeout: 2 } });
    const first = await names(host, 4);
    assert.equal(first.filter((n) => n.startsWith('status 503')).length, 2, `two 503s reach the client before the member is marked: ${first}`);
    assert.equal(await stateOf(u.id, a!.port), 'unhealthy');
    assert.deepEqual([...new Set(await names(host, 6))], ['pb']);
    a!.trafficStatus = 200;
    await until('back after the unhealthy timeout', async () => (await stateOf(u.id, a!.port)) === 'healthy', 5000);
    assert.ok((await names(host, 6)).includes('pa'));
  });

  test('backups take over when every primary fails its probes, and give back when one recovers', { timeout: 40_000 }, async () => {
    const [p, bk] = await backends('primary', 'backup');
    const { u, host } = await exposeWithHost({ members: members([p!, bk!], [{}, { backup: true }]), healthCheck: { ...HTTP_CHECK, unhealthyThreshold: 2, healthyThreshold: 1 } });
    assert.deepEqual([...new Set(await names(host, 4))], ['primary']);
    p!.healthStatus = 500;
    await until('primary unhealthy', async () => (await stateOf(u.id, p!.port)) === 'unhealthy', 8000);
    assert.deepEqual([...new Set(await names(host, 4))], ['backup']);
    p!.healthStatus = 200;
    await until('primary healthy', async () => (await stateOf(u.id, p!.port)) === 'healthy', 8000);
    assert.deepEqual([...new Set(await names(host, 4))], ['primary']);
  });

  test('nothing healthy: fail-open spreads over all enabled members, fail-closed answers 503', { timeout: 40_000 }, async () => {
    const [a, b] = await backends('fo-a', 'fo-b');
    a!.healthStatus = b!.healthStatus = 500;
    const check = { ...HTTP_CHECK, unhealthyThreshold: 1 };
    const open1 = await exposeWithHost({ members: members([a!, b!]), healthCheck: check, failMode: 'open' });
    const closed = await exposeWithHost({ members: members([a!, b!]), healthCheck: check, failMode: 'closed' });
    for (const x of [open1, closed]) {
      await until('all unhealthy', async () => (await healthOf(x.u.id)).every((m) => m.state === 'unhealthy'), 8000);
    }
    assert.deepEqual(new Set(await names(open1.host, 6)), new Set(['fo-a', 'fo-b']));
    assert.deepEqual([...new Set(await names(closed.host, 3))], ['status 503 no_healthy_upstream']);
  });

  test('removing members and upstreams leaves no timers and no probe sockets', { timeout: 30_000 }, async () => {
    const [a, b] = await backends('rm-a', 'rm-b');
    const { u } = await exposeWithHost({ members: members([a!, b!]), healthCheck: HTTP_CHECK });
    await until('probed', async () => a!.probes > 0 && b!.probes > 0, 5000);
    const put = await gw.api('PUT', `/v1/upstreams/${u.id}`, { name: u.name, members: members([a!]), healthCheck: HTTP_CHECK });
    assert.equal(put.status, 200);
    await gw.settled();
    const bProbes = b!.probes;
    const routes = await gw.api('GET', `/v1/routes?limit=500`);
    for (const r of routes.body.items.filter((x: { upstreamId: string }) => x.upstreamId === u.id)) {
      assert.equal((await gw.api('DELETE', `/v1/routes/${r.id}`)).status, 204);
    }
    assert.equal((await gw.api('DELETE', `/v1/upstreams/${u.id}`)).status, 204);
    await gw.settled();
    const watched = gw.sluice.health.watchedKeys().filter((k) => k.startsWith(`${u.id}/`));
    assert.deepEqual(watched, [], 'no member of the upstream is watched');
    const aProbes = a!.probes;
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(a!.probes, aProbes, 'no probe after removal');
    assert.equal(b!.probes, bProbes, 'no probe after removal');
    const conns = await Promise.all([a!, b!].map((x) => new Promise<number>((r) => x.server.getConnections((_e, n) => r(n)))));
    assert.deepEqual(conns, [0, 0], 'no probe socket left open');
  });
});
