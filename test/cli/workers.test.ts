import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { echo, startBackend, type Backend } from '../helpers/backends.js';
import { adminApi, startSluiceProcess } from '../helpers/cli.js';

/** One request on a fresh client connection, so the cluster spreads them over the workers. */
function fresh(url: string): Promise<{ status: number; name: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, headers: { host: 'workers.test' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, name: res.statusCode === 200 ? (JSON.parse(text) as { name: string }).name : '' }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('--workers 2: both workers serve traffic and a config change reaches both', { timeout: 60_000 }, async () => {
  // Each worker has its own keep-alive pool, so the backend sees one upstream connection per worker.
  const peers = new Set<number>();
  const record = (b: string) => (req: Parameters<typeof echo>[0], res: Parameters<typeof echo>[1]) => { peers.add(req.socket.remotePort!); echo(req, res, b); };
  const first: Backend = await startBackend('first', record('first'));
  const second: Backend = await startBackend('second', echo);
  const p = await startSluiceProcess(['--workers', '2']);
  try {
    const api = adminApi(p);
    const tenant = await api('POST', '/v1/tenants', { name: 'w' });
    const u = await api('POST', '/v1/upstreams', { tenantId: tenant.body.id, name: 'w', members: [{ host: '127.0.0.1', port: first.port }] });
    assert.equal(u.status, 201);
    assert.equal((await api('POST', '/v1/routes', { upstreamId: u.body.id, hosts: ['workers.test'] })).status, 201);
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 20; i++) assert.deepEqual(await fresh(`${p.proxyUrl}/`), { status: 200, name: 'first' });
    assert.equal(peers.size, 2, 'two workers, two upstream connections');

    const put = await api('PUT', `/v1/upstreams/${u.body.id}`, { name: 'w', members: [{ host: '127.0.0.1', port: second.port }] });
    assert.equal(put.status, 200);
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 20; i++) assert.deepEqual(await fresh(`${p.proxyUrl}/`), { status: 200, name: 'second' }, `request ${i}`);

    p.child.kill('SIGTERM');
    const [code] = await once(p.child, 'exit');
    assert.equal(code, 0, 'primary and workers stop cleanly');
  } finally {
    await p.cleanup();
    await first.close();
    await second.close();
  }
});

test('--workers 2: one health checker for the node, and its verdict reaches both workers in time', { timeout: 60_000 }, async () => {
  let failing = false;
  let probes = 0;
  let traffic = 0;
  const peers = new Set<number>();
  const sick = await startBackend('sick', (req, res, name) => {
    if (req.url === '/health') { probes++; res.writeHead(failing ? 500 : 200).end(); return; }
    traffic++;
    peers.add(req.socket.remotePort!);
    echo(req, res, name);
  });
  const well = await startBackend('well', echo);
  const p = await startSluiceProcess(['--workers', '2']);
  try {
    const api = adminApi(p);
    const tenant = await api('POST', '/v1/tenants', { name: 'wh' });
    const u = await api('POST', '/v1/upstreams', {
      tenantId: tenant.body.id, name: 'wh', members: [{ host: '127.0.0.1', port: sick.port }, { host: '127.0.0.1', port: well.port }],
      healthCheck: { active: true, protocol: 'http', path: '/health', interval: 2, timeout: 1, unhealthyThreshold: 2, healthyThreshold: 1 },
    });
    assert.equal(u.status, 201);
    assert.equal((await api('POST', '/v1/routes', { upstreamId: u.body.id, hosts: ['workers.test'] })).status, 201);
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 20; i++) assert.equal((await fresh(`${p.proxyUrl}/`)).status, 200);
    assert.equal(peers.size, 2, 'both workers sent traffic to the member');

    const probesBefore = probes;
    failing = true;
    const t0 = Date.now();
    // interval × unhealthy threshold + 1 s
    await new Promise((r) => setTimeout(r, 2 * 2 * 1000 + 1000));
    const trafficAt = traffic;
    const names = new Set<string>();
    for (let i = 0; i < 20; i++) names.add((await fresh(`${p.proxyUrl}/`)).name);
    assert.equal(traffic, trafficAt, 'no worker sends to the failing member any more');
    assert.deepEqual([...names], ['well']);
    // One checker per node: about one probe per interval, not one per worker.
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(probes - probesBefore <= Math.ceil(seconds / (2 * 0.8)) + 1, `${probes - probesBefore} probes in ${seconds.toFixed(1)} s`);
  } finally {
    await p.cleanup();
    await sick.close();
    await well.close();
  }
});

test('--workers 2: every worker enforces the header timeout it was given', { timeout: 60_000 }, async () => {
  const p = await startSluiceProcess(['--workers', '2', '--header-timeout', '1']);
  try {
    const port = Number(new URL(p.proxyUrl).port);
    // Four silent connections: the cluster spreads them over both workers.
    const got = await Promise.all(Array.from({ length: 4 }, () => new Promise<{ text: string; ms: number }>((resolve) => {
      const started = Date.now();
      const s = connect(port, '127.0.0.1');
      let text = '';
      s.on('data', (d: Buffer) => { text += d.toString(); });
      s.on('error', () => {});
      const cap = setTimeout(() => s.destroy(), 10_000);
      s.once('close', () => { clearTimeout(cap); resolve({ text, ms: Date.now() - started }); });
    })));
    for (const g of got) {
      assert.match(g.text, /^HTTP\/1.1 408 /);
      assert.ok(g.ms < 5000, `closed after ${g.ms} ms`);
    }
  } finally {
    await p.cleanup();
  }
});
