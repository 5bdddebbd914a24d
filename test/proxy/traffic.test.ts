import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import selfsigned from 'selfsigned';
import { echo, members, startBackend, startBackends, type Backend } from '../helpers/backends.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('traffic through a real gateway', () => {
  let gw: TestGateway;
  const open: Backend[] = [];

  before(async () => { gw = await startTestGateway(); });
  after(async () => {
    await gw.close();
    await Promise.all(open.map((b) => b.close()));
  });

  async function backends(names: string[]) {
    const bs = await startBackends(names);
    open.push(...bs);
    return bs;
  }

  async function get(host: string, path = '/', opts: { method?: string; body?: string | Buffer } = {}) {
    const res = await request(gw.proxyUrl + path, { method: (opts.method ?? 'GET') as 'GET', headers: { host }, body: opts.body });
    const text = await res.body.text();
    const json = text && res.headers['content-type'] === 'application/json' ? JSON.parse(text) : null;
    return { status: res.statusCode, headers: res.headers, json, name: json?.name as string | undefined };
  }

  /** A GET from a chosen loopback source address (node:http binds it; 127.0.0.0/8 is all local). */
  function getFrom(localAddress: string, host: string, path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(gw.proxyUrl + path, { localAddress, headers: { host }, agent: false }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => resolve((JSON.parse(text) as { name: string }).name));
      });
      req.on('error', reject);
      req.end();
    });
  }

  function tally(names: (string | undefined)[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const n of names) out[n ?? 'none'] = (out[n ?? 'none'] ?? 0) + 1;
    return out;
  }

  test('weighted round robin: exact shares from real traffic', async () => {
    const bs = await backends(['a', 'b', 'c']);
    await gw.expose({ strategy: 'wrr', members: members(bs, [{ weight: 1 }, { weight: 2 }, { weight: 3 }]) }, { hosts: ['wrr.test'] });
    const names = [];
    for (let i = 0; i < 300; i++) names.push((await get('wrr.test')).name);
    assert.deepEqual(tally(names), { a: 50, b: 100, c: 150 });
  });

  test('weighted least connections: slow members get fewer concurrent requests', async () => {
    const slow = await startBackend('slow', (req, res, name) => setTimeout(() => echo(req, res, name), 150));
    open.push(slow);
    const [fast] = await backends(['fast']);
    await gw.expose({ strategy: 'wlc', members: members([slow, fast!]) }, { hosts: ['wlc.test'] });
    const names: (string | undefined)[] = [];
    // 8 clients for 1.5 s at most: the fast member keeps answering while the slow one holds its few.
    const deadline = Date.now() + 1500;
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 40 && Date.now() < deadline; i++) names.push((await get('wlc.test')).name);
    }));
    const t = tally(names);
    assert.ok((t.fast ?? 0) > 4 * (t.slow ?? 0), JSON.stringify(t));
    assert.ok((t.slow ?? 0) > 0, 'the slow member still gets some');
  });

  test('source-IP hash: one client address stays on one member; addresses spread', async () => {
    const bs = await backends(['s1', 's2', 's3']);
    await gw.expose({ strategy: 'source_ip_hash', members: members(bs) }, { hosts: ['sip.test'] });
    const home = new Map<string, string>();
    for (let i = 1; i <= 30; i++) {
      const addr = `127.0.0.${i + 1}`;
      for (let r = 0; r < 3; r++) {
        const name = await getFrom(addr, 'sip.test', `/r${r}`);
        if (home.has(addr)) assert.equal(name, home.get(addr), `${addr} moved`);
        home.set(addr, name);
      }
    }
    assert.equal(new Set(home.values()).size, 3, 'thirty addresses reach all three members');
  });

  test('URI hash: one path stays on one member whatever the query; paths spread', async () => {
    const bs = await backends(['u1', 'u2', 'u3']);
    await gw.expose({ strategy: 'uri_hash', members: members(bs) }, { hosts: ['uri.test'] });
    const home = new Map<string, string>();
    for (let i = 0; i < 60; i++) {
      const path = `/item/${i}`;
      const first = (await get('uri.test', `${path}?v=1`)).name!;
      assert.equal((await get('uri.test', `${path}?v=2`)).name, first);
      home.set(path, first);
    }
    assert.equal(new Set(home.values()).size, 3);
  });

  test('a member killed mid-traffic: zero failed GETs with retries on', async () => {
    const bs = await backends(['k1', 'k2', 'k3']);
    await gw.expose({ members: members(bs), retries: 3 }, { hosts: ['kill.test'] });
    const statuses: number[] = [];
    let served = 0;
    await Promise.all(Array.from({ length: 6 }, async () => {
      for (let i = 0; i < 100; i++) {
        const r = await get('kill.test');
        statuses.push(r.status);
        if (++served === 150) await bs[1]!.kill();
      }
    }));
    assert.equal(statuses.length, 600);
    assert.deepEqual(tally(statuses.map(String)), { 200: 600 });
    const after = [];
    for (let i = 0; i < 30; i++) after.push((await get('kill.test')).name);
    assert.ok(!after.includes('k2'));
  });

  test('backup members take over when no primary is left, and give it back', async () => {
    const [primary, backup] = await backends(['primary', 'backup']);
    await gw.expose({ members: members([primary!, backup!], [{}, { backup: true }]) }, { hosts: ['backup.test'] });
    for (let i = 0; i < 10; i++) assert.equal((await get('backup.test')).name, 'primary');
    await primary!.kill();
    for (let i = 0; i < 10; i++) assert.equal((await get('backup.test')).name, 'backup');
    await primary!.revive();
    for (let i = 0; i < 10; i++) assert.equal((await get('backup.test')).name, 'primary');
  });

  test('retries: POST that reached a member is not replayed; POST that never left is; GET is', async () => {
    let posts = 0;
    const reset = await startBackend('reset', (req) => { if (req.method === 'POST') posts++; req.socket.destroy(); });
    open.push(reset);
    const [ok] = await backends(['ok']);
    const dead = await startBackend('dead');
    await dead.kill();
    // wrr with equal weights starts on the first member: the resetting one.
    await gw.expose({ members: members([reset, ok!]), retries: 2 }, { hosts: ['reset.test'] });
    const post = await get('reset.test', '/', { method: 'POST', body: 'x'.repeat(100) });
    assert.equal(post.status, 502);
    assert.equal(post.headers['x-sluice-error'], 'upstream_reset');
    assert.equal(posts, 1, 'sent once, not replayed');
    const getR = await get('reset.test', '/');
    assert.equal(getR.status, 200, 'GET went on to the next member');
    assert.equal(getR.name, 'ok');

    await gw.expose({ members: members([dead, ok!]), retries: 2 }, { hosts: ['refused.test'] });
    const p2 = await get('refused.test', '/', { method: 'POST', body: 'y'.repeat(70_000) });
    assert.equal(p2.status, 200, 'connection refused: the request never left, so it goes on');
    assert.equal(p2.json.bodyBytes, 70_000);
  });

  test('connect failure answers 502 upstream_connect_failed, timeout 504 upstream_timeout', async () => {
    const dead = await startBackend('dead2');
    await dead.kill();
    await gw.expose({ members: members([dead]) }, { hosts: ['dead.test'] });
    const r = await get('dead.test');
    assert.equal(r.status, 502);
    assert.equal(r.headers['x-sluice-error'], 'upstream_connect_failed');
    assert.equal(r.json.code, 'upstream_connect_failed');

    const slow = await startBackend('slow2', (req, res, name) => setTimeout(() => echo(req, res, name), 1000));
    open.push(slow);
    await gw.expose({ members: members([slow]), retries: 0 }, { hosts: ['slow.test'], timeoutMs: 200 });
    const t = await get('slow.test');
    assert.equal(t.status, 504);
    assert.equal(t.headers['x-sluice-error'], 'upstream_timeout');
  });

  test('a client that leaves mid-request: an upstream request still running a second later is dropped, before and after its headers', async () => {
    // Holds each request; answers headers and one chunk for /streaming, nothing for /held.
    const closed: string[] = [];
    const holder = await startBackend('holder', (req, res) => {
      res.once('close', () => closed.push(req.url!));
      if (req.url === '/streaming') { res.writeHead(200, { 'content-type': 'text/plain' }); res.write('first chunk'); }
    });
    open.push(holder);
    await gw.expose({ members: members([holder]), retries: 0 }, { hosts: ['leave.test'] });
    for (const path of ['/held', '/streaming']) {
      const sock = connect(Number(new URL(gw.proxyUrl).port), '127.0.0.1');
      await once(sock, 'connect');
      sock.write(`GET ${path} HTTP/1.1\r\nhost: leave.test\r\n\r\n`);
      if (path === '/streaming') await once(sock, 'data');
      else await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(closed.filter((p) => p === path), [], `${path} still open upstream while the client waits`);
      sock.destroy();
      const until = Date.now() + 3000;
      while (!closed.includes(path) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.ok(closed.includes(path), `the upstream request for ${path} was dropped when the client left`);
    }
  });

  test('a client that leaves just before a short answer: the answer is let finish and its upstream connection kept', async () => {
    const ports: number[] = [];
    const finished: boolean[] = [];
    const slow = await startBackend('slow', (req, res) => {
      ports.push(req.socket.remotePort!);
      res.once('close', () => finished.push(res.writableFinished));
      setTimeout(() => res.end('late but short'), req.url === '/slow' ? 300 : 0);
    });
    open.push(slow);
    await gw.expose({ members: members([slow]), retries: 0 }, { hosts: ['linger.test'] });
    const sock = connect(Number(new URL(gw.proxyUrl).port), '127.0.0.1');
    await once(sock, 'connect');
    sock.write('GET /slow HTTP/1.1\r\nhost: linger.test\r\n\r\n');
    const until = Date.now() + 3000;
    while (ports.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    sock.destroy();
    while (finished.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(finished, [true], 'the member finished its answer though the client had left');
    const next = await get('linger.test', '/fast');
    assert.equal(next.status, 200);
    assert.equal(ports.length, 2);
    assert.equal(ports[1], ports[0], 'the next request went over the same upstream connection');
  });

  test('HTTPS upstream with a self-signed certificate: refused when verifying, served when not', async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'backend.test' }], { keySize: 2048, extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'backend.test' }] }] });
    const tls = await startBackend('tls', echo, { key: pems.private, cert: pems.cert });
    open.push(tls);
    await gw.expose({ scheme: 'https', members: members([tls]), upstreamHost: 'backend.test' }, { hosts: ['verify.test'] });
    const refused = await get('verify.test');
    assert.equal(refused.status, 502);
    assert.equal(refused.headers['x-sluice-error'], 'upstream_tls_failed');
    await gw.expose({ scheme: 'https', members: members([tls]), upstreamHost: 'backend.test', tlsVerify: false }, { hosts: ['noverify.test'] });
    const served = await get('noverify.test');
    assert.equal(served.status, 200);
    assert.equal(served.name, 'tls');
    assert.equal(served.json.headers.host, 'backend.test');
  });

  test('large bodies stream both ways', { timeout: 60_000 }, async () => {
    const SIZE = 256 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 7);
    const big = await startBackend('big', (req, res) => {
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => { h.update(c); n += c.length; });
      req.on('end', () => {
        res.writeHead(200, { 'x-upload-bytes': String(n), 'x-upload-sha': h.digest('hex') });
        let sent = 0;
        const pump = () => {
          while (sent < SIZE) { sent += chunk.length; if (!res.write(chunk)) { res.once('drain', pump); return; } }
          res.end();
        };
        pump();
      });
    });
    open.push(big);
    await gw.expose({ members: members([big]) }, { hosts: ['big.test'] });
    let produced = 0;
    const upload = new Readable({ read() { if (produced >= SIZE) this.push(null); else { produced += chunk.length; this.push(chunk); } } });
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
    try {
      const res = await request(`${gw.proxyUrl}/up`, { method: 'PUT', headers: { host: 'big.test', 'content-length': String(SIZE) }, body: upload });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-upload-bytes'], String(SIZE));
      const want = createHash('sha256');
      for (let i = 0; i < SIZE / chunk.length; i++) want.update(chunk);
      assert.equal(res.headers['x-upload-sha'], want.digest('hex'));
      let down = 0;
      for await (const c of res.body) down += (c as Buffer).length;
      assert.equal(down, SIZE);
    } finally {
      clearInterval(sampler);
    }
    // 512 MiB moved through this process (client, gateway and backend): memory stays bounded.
    assert.ok(peak - rssBefore < 200 * 1024 * 1024, `rss grew ${((peak - rssBefore) / 1048576).toFixed(0)} MiB`);
  });

  test('a config change is served to new requests within 100 ms, on the same connection', async () => {
    const [one, two] = await backends(['one', 'two']);
    const u = await gw.expose({ members: members([one!]) }, { hosts: ['change.test'] });
    const agent = new Agent({ connections: 1 });
    try {
      const r1 = await request(`${gw.proxyUrl}/`, { headers: { host: 'change.test' }, dispatcher: agent });
      assert.equal(((await r1.body.json()) as { name: string }).name, 'one');
      const put = await gw.api('PUT', `/v1/upstreams/${u.id}`, { name: u.name, members: members([two!]) });
      assert.equal(put.status, 200);
      const changedAt = Date.now();
      let name = '';
      while (Date.now() - changedAt < 100) {
        const r = await request(`${gw.proxyUrl}/`, { headers: { host: 'change.test' }, dispatcher: agent });
        name = ((await r.body.json()) as { name: string }).name;
        if (name === 'two') break;
      }
      assert.equal(name, 'two', 'not live within 100 ms');
      assert.equal(gw.sluice.runtime.snapshot.upstreams.get(u.id)!.targets.length, 1);
    } finally {
      await agent.close();
    }
  });

  test('WebSocket upgrades pass through', async () => {
    const ws = await startBackend('ws');
    open.push(ws);
    ws.server.on('upgrade', (req, socket) => {
      // The accept for the key below (RFC 6455 4.2.2's own example): the gateway checks it.
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nx-backend: ws\r\n\r\n`);
      socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
    });
    await gw.expose({ members: members([ws]) }, { hosts: ['ws.test'] });
    const sock = connect(Number(new URL(gw.proxyUrl).port), '127.0.0.1');
    await once(sock, 'connect');
    sock.write('GET /chat HTTP/1.1\r\nhost: ws.test\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n');
    let got = '';
    sock.on('data', (d: Buffer) => { got += d.toString(); });
    for (let i = 0; i < 100 && !got.includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.match(got, /^HTTP\/1.1 101/);
    assert.match(got, /x-backend: ws/i);
    got = '';
    sock.write('hello');
    for (let i = 0; i < 100 && !got.includes('echo:hello'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got, 'echo:hello');
    sock.destroy();
  });
});
