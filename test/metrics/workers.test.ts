import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { echo, startBackend, type Backend } from '../helpers/backends.js';
import { startSluiceProcess } from '../helpers/cli.js';
import { scrape } from '../helpers/metrics.js';
import { until } from '../helpers/wait.js';

/** One request on a fresh client connection, so that the cluster spreads them over the workers. */
function fresh(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, headers: { host } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
}

test('--workers 2: one scrape returns the whole node; health and node info are counted once', { timeout: 90_000 }, async () => {
  // Each worker has its own keep-alive pool: upstream connections from two source ports show both served.
  const peers = new Set<number>();
  const counting = (name: string) => startBackend(name, (req, res) => { peers.add(req.socket.remotePort!); echo(req, res, name); });
  const backends: Backend[] = [await counting('one'), await counting('two'), await startBackend('probed')];
  const p = await startSluiceProcess(['--workers', '2', '--metrics-listen', '127.0.0.1:0']);
  try {
    assert.ok(p.metricsUrl, 'the start line says where metrics are served');
    const api = async (method: string, path: string, body: unknown) => {
      const res = await fetch(p.adminUrl + path, { method, headers: { authorization: `Bearer ${p.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return (await res.json()) as Record<string, any>;
    };
    const tenant = await api('POST', '/v1/tenants', { name: 'm' });
    const u = await api('POST', '/v1/upstreams', { tenantId: tenant.id, name: 'wrr', members: [{ host: '127.0.0.1', port: backends[0]!.port, weight: 1 }, { host: '127.0.0.1', port: backends[1]!.port, weight: 2 }] });
    await api('POST', '/v1/routes', { upstreamId: u.id, hosts: ['wrr.test'] });
    const h = await api('POST', '/v1/upstreams', {
      tenantId: tenant.id, name: 'checked', members: [{ host: '127.0.0.1', port: backends[2]!.port }],
      healthCheck: { active: true, protocol: 'http', path: '/', interval: 2, timeout: 1, healthyThreshold: 1, unhealthyThreshold: 1 },
    });
    await until('both workers serve the route', async () => (await fresh(p.proxyUrl, 'wrr.test')) === 200 && (await fresh(p.proxyUrl, 'wrr.test')) === 200);

    const before = await scrape(p.metricsUrl);
    const ok = (s: typeof before, member: string) => s.value('sluice_upstream_attempts_total', { upstream: u.id, member, outcome: 'ok' });
    const [m1, m2] = u.members.map((m: { id: string }) => m.id);
    peers.clear();
    for (let i = 0; i < 30; i++) assert.equal(await fresh(p.proxyUrl, 'wrr.test'), 200);
    assert.ok(peers.size >= 2, `both workers sent traffic (${peers.size} upstream connections)`);

    const m = await scrape(p.metricsUrl);
    assert.equal(m.value('sluice_http_requests_total', { upstream: u.id, class: '2xx' }) - before.value('sluice_http_requests_total', { upstream: u.id, class: '2xx' }), 30);
    // Each worker runs its own round robin over its share: about 10 and 20, exactly when each took a multiple of 3.
    const d1 = ok(m, m1) - ok(before, m1);
    const d2 = ok(m, m2) - ok(before, m2);
    assert.equal(d1 + d2, 30);
    assert.ok(Math.abs(d1 - 10) <= 2 && Math.abs(d2 - 20) <= 2, `about 10 and 20 attempts (${d1}, ${d2})`);
    const hist = m.histogram('sluice_http_request_duration_seconds', { upstream: u.id });
    assert.equal(hist.count - before.histogram('sluice_http_request_duration_seconds', { upstream: u.id }).count, 30, 'histograms merged');
    assert.equal(hist.buckets.at(-1)!.n, hist.count);
    assert.equal(m.value('sluice_http_requests_in_flight'), 0);

    // Probed once per node, by the primary: never one gauge per worker.
    const healthy = await until('the checked member is healthy', async () => {
      const s = await scrape(p.metricsUrl!);
      return s.value('sluice_member_health', { upstream: h.id, state: 'healthy' }) >= 1 ? s : null;
    });
    assert.equal(healthy.value('sluice_member_health', { upstream: h.id, state: 'healthy' }), 1);
    assert.equal(healthy.value('sluice_member_health', { upstream: h.id }), 1);
    const info = healthy.samples('sluice_node_info');
    assert.equal(info.length, 1);
    assert.equal(Number(info[0]!.value), 1);
    // Four writes so far (tenant, two upstreams, route), applied once: the primary's, not a sum.
    assert.equal(healthy.samples('sluice_config_revision').length, 1);
    assert.ok(healthy.value('sluice_config_revision') >= 4 && healthy.value('sluice_config_revision') < 8, 'the revision of four writes');

    // The admin listener's /metrics is the same merged scrape, behind the token.
    const admin = await scrape(`${p.adminUrl}/metrics`, p.token);
    assert.ok(admin.value('sluice_http_requests_total', { upstream: u.id }) >= 32, 'the 30 requests and the 2 before them');
    const stats = await fetch(`${p.adminUrl}/v1/upstreams/${u.id}/stats`, { headers: { authorization: `Bearer ${p.token}` } });
    const body = (await stats.json()) as { requests: Record<string, number>; attempts: Record<string, Record<string, number>> };
    assert.equal(body.requests['2xx'], admin.value('sluice_http_requests_total', { upstream: u.id, class: '2xx' }));
    assert.equal(body.attempts[m1]!.ok + body.attempts[m2]!.ok, body.requests['2xx']);
  } finally {
    await p.cleanup();
    await Promise.all(backends.map((b) => b.close()));
  }
});
