import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { echo, members, startBackend, type Backend } from '../helpers/backends.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/** One call of the attempt hook, as the test saw it. */
interface Seen { upstreamId: string; port: number; outcome: string; status: number; start: number }

// RFC 6455 4.2.2's own example key and the accept a member must answer it with.
const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const WS_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

/**
 * Every attempt on a member reaches the onAttempt hook once with what happened, whatever the
 * upstream's health checks (none here but the fail-open case's active probes): passive health
 * and metrics subscribe to it. Plain requests and WebSocket upgrades share the attempt loop.
 */
describe('the attempt hook and the attempt loop shared by requests and upgrades', () => {
  let gw: TestGateway;
  let port: number;
  const seen: Seen[] = [];
  const open: Backend[] = [];
  let hostSeq = 0;

  before(async () => {
    gw = await startTestGateway({
      onAttempt: (t, outcome, status, start) => { seen.push({ upstreamId: t.upstreamId, port: t.port, outcome, status, start }); },
    });
    port = Number(new URL(gw.proxyUrl).port);
  });
  after(async () => {
    await gw.close();
    await Promise.all(open.map((b) => b.close()));
  });

  async function backend(name: string, handler = echo): Promise<Backend> {
    const b = await startBackend(name, handler);
    open.push(b);
    return b;
  }

  /** A port nothing listens on: a backend started and killed. */
  async function deadPort(): Promise<number> {
    const b = await startBackend('dead');
    await b.kill();
    return b.port;
  }

  /** A member that completes WebSocket handshakes and echoes what comes through the tunnel. */
  async function wsBackend(name: string): Promise<Backend> {
    const b = await backend(name, (req, res) => { req.resume(); res.writeHead(req.url === '/health' ? 500 : 200).end(); });
    b.server.on('upgrade', (_req, socket) => {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${WS_ACCEPT}\r\nx-backend: ${name}\r\n\r\n`);
      socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
    });
    return b;
  }

  async function expose(upstream: Record<string, unknown>, route: Record<string, unknown> = {}): Promise<{ id: string; host: string }> {
    const host = `a${++hostSeq}.attempts.test`;
    const u = await gw.expose(upstream, { hosts: [host], ...route });
    return { id: u.id, host };
  }

  async function get(host: string, path = '/'): Promise<{ status: number; error: string | undefined }> {
    const res = await request(`${gw.proxyUrl}${path}`, { headers: { host } });
    await res.body.text();
    return { status: res.statusCode, error: res.headers['x-sluice-error'] as string | undefined };
  }

  /** A WebSocket handshake through the gateway; the answer's head, and the echo of `hello` through the tunnel on a 101. */
  async function upgrade(host: string): Promise<{ head: string; echo: string }> {
    const sock = connect(port, '127.0.0.1');
    try {
      await once(sock, 'connect');
      let got = '';
      sock.on('data', (d: Buffer) => { got += d.toString('latin1'); });
      sock.on('error', () => {});
      sock.write(`GET /chat HTTP/1.1\r\nhost: ${host}\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: ${WS_KEY}\r\nsec-websocket-version: 13\r\n\r\n`);
      for (let i = 0; i < 300 && !got.includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 10));
      const end = got.indexOf('\r\n\r\n');
      const head = end < 0 ? got : got.slice(0, end);
      if (!head.startsWith('HTTP/1.1 101')) return { head, echo: '' };
      got = '';
      sock.write('hello');
      for (let i = 0; i < 300 && !got.includes('echo:hello'); i++) await new Promise((r) => setTimeout(r, 10));
      return { head, echo: got };
    } finally {
      sock.destroy();
    }
  }

  const of = (upstreamId: string) => seen.filter((s) => s.upstreamId === upstreamId);
  const brief = (list: Seen[]) => list.map((s) => [s.outcome, s.status]);

  test('a response, 2xx or 5xx, is one ok attempt with its status and the attempt start, passive checks off', async () => {
    const b = await backend('ok5xx', (req, res, name) => {
      if (req.url === '/fail') { req.resume(); res.writeHead(503).end(); return; }
      echo(req, res, name);
    });
    const u = await expose({ members: members([b]) });
    const before = performance.now();
    assert.equal((await get(u.host)).status, 200);
    assert.equal((await get(u.host, '/fail')).status, 503);
    const after = performance.now();
    const list = of(u.id);
    assert.deepEqual(brief(list), [['ok', 200], ['ok', 503]]);
    for (const s of list) {
      assert.equal(s.port, b.port);
      assert.ok(s.start >= before && s.start <= after, `start ${s.start} within [${before}, ${after}]`);
    }
  });

  test('a refused connection is one connect attempt; a reset is one reset attempt; no answer in time is one timeout attempt', async () => {
    const refused = await expose({ members: [{ host: '127.0.0.1', port: await deadPort() }], retries: 0 });
    const r1 = await get(refused.host);
    assert.equal(r1.error, 'upstream_connect_failed');
    assert.deepEqual(brief(of(refused.id)), [['connect', 0]]);

    const resetter = await backend('reset', (req) => { req.socket.destroy(); });
    const reset = await expose({ members: members([resetter]), retries: 0 });
    const r2 = await get(reset.host);
    assert.equal(r2.error, 'upstream_reset');
    assert.deepEqual(brief(of(reset.id)), [['reset', 0]]);

    const silent = await backend('silent', (req) => { req.resume(); });
    const slow = await expose({ members: members([silent]), retries: 0 }, { timeoutMs: 300 });
    const r3 = await get(slow.host);
    assert.equal(r3.error, 'upstream_timeout');
    assert.deepEqual(brief(of(slow.id)), [['timeout', 0]]);
  });

  test('a retry after a refused connection: one attempt per member tried, in order', async () => {
    const live = await backend('retry-live');
    const dead = await deadPort();
    const u = await expose({ members: [{ host: '127.0.0.1', port: dead }, { host: '127.0.0.1', port: live.port }], retries: 1 });
    for (let i = 0; i < 4; i++) assert.equal((await get(u.host)).status, 200);
    const list = of(u.id);
    // Round robin gives the dead member the first try of some requests; each of those is
    // followed by the live member's answer.
    assert.ok(list.some((s) => s.port === dead), 'the dead member was tried');
    for (const s of list) assert.deepEqual([s.outcome, s.status], s.port === dead ? ['connect', 0] : ['ok', 200]);
    assert.equal(list.filter((s) => s.port === live.port).length, 4);
  });

  test('a WebSocket upgrade is one ok attempt with status 101', async () => {
    const ws = await wsBackend('ws-hook');
    const u = await expose({ members: members([ws]) });
    const r = await upgrade(u.host);
    assert.match(r.head, /^HTTP\/1.1 101/);
    assert.equal(r.echo, 'echo:hello');
    assert.deepEqual(brief(of(u.id)), [['ok', 101]]);
  });

  test('an upgrade whose member refuses connections goes on to the next member', async () => {
    const ws = await wsBackend('ws-next');
    const dead = await deadPort();
    const u = await expose({ members: [{ host: '127.0.0.1', port: dead }, { host: '127.0.0.1', port: ws.port }], retries: 1 });
    for (let i = 0; i < 4; i++) {
      const r = await upgrade(u.host);
      assert.match(r.head, /^HTTP\/1.1 101/, `upgrade ${i}`);
      assert.equal(r.echo, 'echo:hello');
    }
    const list = of(u.id);
    assert.ok(list.some((s) => s.port === dead), 'the refusing member was tried first at least once');
    for (const s of list) assert.deepEqual([s.outcome, s.status], s.port === dead ? ['connect', 0] : ['ok', 101]);
    assert.equal(list.filter((s) => s.port === ws.port).length, 4);

    // With no retries left, the refusal is the answer.
    const once1 = await expose({ members: [{ host: '127.0.0.1', port: dead }], retries: 0 });
    const r = await upgrade(once1.host);
    assert.match(r.head, /^HTTP\/1.1 502/);
    assert.match(r.head, /x-sluice-error: upstream_connect_failed/);
    assert.deepEqual(brief(of(once1.id)), [['connect', 0]]);
  });

  test('an upgrade on a fail-open upstream whose members are all unhealthy still upgrades; fail-closed answers 503', { timeout: 30_000 }, async () => {
    const ws = await wsBackend('ws-failopen');
    // The member's /health answers 500: one probe marks it unhealthy.
    const check = { active: true, protocol: 'http', path: '/health', interval: 2, timeout: 1, healthyThreshold: 2, unhealthyThreshold: 1 };
    const openU = await expose({ members: members([ws]), healthCheck: check, failMode: 'open' });
    const closedU = await expose({ members: members([ws]), healthCheck: check, failMode: 'closed' });
    for (const u of [openU, closedU]) {
      let states: string[] = [];
      for (let i = 0; i < 100; i++) {
        const h = await gw.api('GET', `/v1/upstreams/${u.id}/health`);
        states = (h.body.members as { state: string }[]).map((m) => m.state);
        if (states.every((s) => s === 'unhealthy')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(states, ['unhealthy']);
    }
    const r = await upgrade(openU.host);
    assert.match(r.head, /^HTTP\/1.1 101/);
    assert.equal(r.echo, 'echo:hello');
    assert.deepEqual(brief(of(openU.id)), [['ok', 101]]);

    const c = await upgrade(closedU.host);
    assert.match(c.head, /^HTTP\/1.1 503/);
    assert.match(c.head, /x-sluice-error: no_healthy_upstream/);
    assert.deepEqual(of(closedU.id), []);
  });
});
