import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'undici';
import { echo, startBackend, type Backend } from '../helpers/backends.js';
import { OPERATOR_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { scrape, type Scrape } from '../helpers/metrics.js';
import { until } from '../helpers/wait.js';

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * GET /metrics after real traffic through a real gateway: the counters, histograms and gauges
 * move as the traffic says, every label value is a config id or a fixed word, and the series
 * of what is removed from the config go with it.
 */
describe('metrics', () => {
  let gw: TestGateway;
  let metricsUrl: string;
  const backends: Backend[] = [];
  const routeIds = new Map<string, string>();

  before(async () => {
    gw = await startTestGateway({ metricsListen: { host: '127.0.0.1', port: 0 } });
    metricsUrl = `http://127.0.0.1:${gw.sluice.metricsPort}/metrics`;
  });
  after(async () => {
    await gw.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  async function backend(name: string, handler = echo): Promise<Backend> {
    const b = await startBackend(name, handler);
    backends.push(b);
    return b;
  }

  /** An upstream with a route on host `host`; returns the upstream. */
  async function expose(host: string, upstream: Record<string, unknown>): Promise<any> {
    const u = await gw.expose(upstream, { hosts: [host] });
    const routes = await gw.api('GET', '/v1/routes?limit=500');
    routeIds.set(host, routes.body.items.find((r: any) => r.upstreamId === u.id).id);
    return u;
  }

  async function get(host: string, path: string, body?: string): Promise<{ status: number; body: string }> {
    const r = await request(gw.proxyUrl + path, { method: body === undefined ? 'GET' : 'POST', headers: { host }, body });
    return { status: r.statusCode, body: await r.body.text() };
  }

  const s = (): Promise<Scrape> => scrape(metricsUrl);

  test('30 requests round robin over weights 1:2 count 10 and 20 attempts, 30 requests of class 2xx, their latency and bytes', async () => {
    const [a, b] = [await backend('a', (_q, res) => res.end('0123456789')), await backend('b', (_q, res) => res.end('0123456789'))];
    const u = await expose('wrr.test', { members: [{ host: '127.0.0.1', port: a.port, weight: 1 }, { host: '127.0.0.1', port: b.port, weight: 2 }] });
    const before = await s();
    assert.equal(before.value('sluice_http_requests_total', { upstream: u.id }), 0);
    for (let i = 0; i < 30; i++) assert.equal((await get('wrr.test', `/x/${i}`, 'hello')).status, 200);
    const m = await s();
    const [ma, mb] = u.members.map((x: { id: string }) => x.id);
    assert.equal(m.value('sluice_upstream_attempts_total', { upstream: u.id, member: ma, outcome: 'ok' }), 10);
    assert.equal(m.value('sluice_upstream_attempts_total', { upstream: u.id, member: mb, outcome: 'ok' }), 20);
    assert.equal(m.value('sluice_upstream_attempts_total', { upstream: u.id, outcome: 'connect' }), 0);
    assert.equal(m.value('sluice_http_requests_total', { route: routeIds.get('wrr.test')!, upstream: u.id, class: '2xx' }), 30);
    assert.equal(m.value('sluice_http_requests_total', { upstream: u.id }), 30, 'no other class');
    assert.equal(m.value('sluice_upstream_retries_total', { upstream: u.id }), 0);
    assert.equal(m.value('sluice_http_response_body_bytes_total', { upstream: u.id }), 300);
    assert.equal(m.value('sluice_http_request_body_bytes_total', { upstream: u.id }), 150);
    for (const name of ['sluice_http_request_duration_seconds', 'sluice_upstream_response_seconds']) {
      const h = m.histogram(name, { upstream: u.id });
      assert.equal(h.count, 30, `${name} counted every request`);
      assert.ok(h.sum > 0, `${name} has a sum`);
      assert.equal(h.buckets.at(-1)!.le, Infinity);
      assert.equal(h.buckets.at(-1)!.n, 30);
      for (let i = 1; i < h.buckets.length; i++) assert.ok(h.buckets[i]!.n >= h.buckets[i - 1]!.n, `${name} buckets are cumulative`);
    }
    assert.equal(m.family('sluice_http_requests_total').type, 'COUNTER');
    assert.equal(m.family('sluice_http_request_duration_seconds').type, 'HISTOGRAM');
    assert.equal(m.value('sluice_http_requests_in_flight'), 0);

    const stats = await gw.api('GET', `/v1/upstreams/${u.id}/stats`);
    assert.equal(stats.status, 200);
    assert.equal(stats.body.requests['2xx'], 30);
    assert.equal(stats.body.attempts[ma].ok, 10);
    assert.equal(stats.body.attempts[mb].ok, 20);
    assert.equal(stats.body.retries, 0);
    assert.equal(stats.body.latency.request.count, 30);
    assert.ok(stats.body.latency.upstream.p50 > 0 && stats.body.latency.upstream.p50 <= stats.body.latency.upstream.p99, 'quantiles from the buckets');
    assert.equal((await gw.api('GET', '/v1/upstreams/0123456789abcdef0123456789abcdef/stats')).status, 404);
  });

  test('a request no route matches shows once in gateway errors by code, under no route; no label carries the client\'s path or host', async () => {
    const before = await s();
    const r = await get('nowhere-secret-host.test', '/secret-client-path?q=secret-query');
    assert.equal(r.status, 404);
    const m = await s();
    assert.equal(m.value('sluice_http_gateway_errors_total', { code: 'route_not_found' }) - before.value('sluice_http_gateway_errors_total', { code: 'route_not_found' }), 1);
    assert.equal(m.value('sluice_http_requests_total', { route: '', upstream: '', class: '4xx' }) - before.value('sluice_http_requests_total', { route: '', upstream: '', class: '4xx' }), 1);
    for (const v of m.labelValues()) assert.doesNotMatch(v, /secret/, 'no client-supplied label value');
  });

  test('a member that is down: its connect failures count on it, and each one a retry on the other member', async () => {
    const live = await backend('live');
    const u = await expose('retry.test', { retries: 1, members: [{ host: '127.0.0.1', port: await deadPort() }, { host: '127.0.0.1', port: live.port }] });
    for (let i = 0; i < 10; i++) assert.equal((await get('retry.test', '/')).status, 200);
    const m = await s();
    const [dead, ok] = u.members.map((x: { id: string }) => x.id);
    const failures = m.value('sluice_upstream_attempts_total', { upstream: u.id, member: dead, outcome: 'connect' });
    assert.ok(failures >= 3, `round robin sent some first tries to the dead member (${failures})`);
    assert.equal(m.value('sluice_upstream_attempts_total', { upstream: u.id, member: ok, outcome: 'ok' }), 10);
    assert.equal(m.value('sluice_upstream_retries_total', { upstream: u.id }), failures);
    assert.equal(m.value('sluice_http_requests_total', { upstream: u.id, class: '2xx' }), 10);
    assert.equal((await gw.api('GET', `/v1/upstreams/${u.id}/stats`)).body.retries, failures);
  });

  test('no member left: 502 upstream_connect_failed counted by code, 5xx answers as http_error attempts', async () => {
    const u = await expose('down.test', { retries: 0, members: [{ host: '127.0.0.1', port: await deadPort() }] });
    assert.equal((await get('down.test', '/')).status, 502);
    const five = await backend('five', (_q, res) => { res.statusCode = 503; res.end('busy'); });
    const v = await expose('five.test', { members: [{ host: '127.0.0.1', port: five.port }] });
    assert.equal((await get('five.test', '/')).status, 503);
    const m = await s();
    assert.ok(m.value('sluice_http_gateway_errors_total', { code: 'upstream_connect_failed' }) >= 1, 'the 502 counted by its code');
    assert.equal(m.value('sluice_http_requests_total', { upstream: u.id, class: '5xx' }), 1);
    assert.equal(m.value('sluice_upstream_attempts_total', { upstream: v.id, outcome: 'http_error' }), 1);
    assert.equal(m.value('sluice_upstream_attempts_total', { upstream: v.id, outcome: 'ok' }), 0);
    assert.equal(m.value('sluice_http_gateway_errors_total', { code: 'upstream_unavailable' }), 0, 'the member\'s 503 is no gateway error');
  });

  test('in-flight requests: 1 while a request is held by its member, 0 once it is answered', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const slow = await backend('slow', (_q, res) => { void held.then(() => res.end('late')); });
    await expose('slow.test', { members: [{ host: '127.0.0.1', port: slow.port }] });
    const pending = get('slow.test', '/');
    await until('the request is in flight', async () => (await s()).value('sluice_http_requests_in_flight') === 1);
    release();
    assert.equal((await pending).status, 200);
    assert.equal((await s()).value('sluice_http_requests_in_flight'), 0);
  });

  test('member health gauges, probes and the last verdict change; a removed member\'s series go with it', async () => {
    const hb = await backend('probed');
    const u = await expose('health.test', {
      members: [{ host: '127.0.0.1', port: hb.port }, { host: '127.0.0.1', port: await deadPort() }],
      healthCheck: { active: true, protocol: 'http', path: '/', interval: 2, timeout: 1, healthyThreshold: 1, unhealthyThreshold: 1 },
    });
    const [good, bad] = u.members.map((x: { id: string }) => x.id);
    const m = await until('both verdicts', async () => {
      const x = await s();
      return x.value('sluice_member_health', { upstream: u.id, member: good, state: 'healthy' }) === 1
        && x.value('sluice_member_health', { upstream: u.id, member: bad, state: 'unhealthy' }) === 1 ? x : null;
    });
    assert.equal(m.value('sluice_member_health', { upstream: u.id, member: good }), 1, 'one state at 1, the others 0');
    assert.equal(m.value('sluice_member_health', { upstream: u.id, member: good, state: 'unknown' }), 0);
    assert.ok(m.value('sluice_health_probes_total', { upstream: u.id, member: good }) >= 1, 'probes counted');
    assert.equal(m.value('sluice_health_probe_failures_total', { upstream: u.id, member: good }), 0);
    assert.ok(m.value('sluice_health_probe_failures_total', { upstream: u.id, member: bad }) >= 1, 'failed probes counted');
    const changed = m.value('sluice_member_health_changed_timestamp_seconds', { upstream: u.id, member: bad });
    assert.ok(Math.abs(changed - Date.now() / 1000) < 60, 'a Unix time of a moment ago');

    assert.equal((await gw.api('DELETE', `/v1/upstreams/${u.id}/members/${bad}`)).status, 204);
    await gw.settled();
    const after = await s();
    assert.equal(after.samples('sluice_member_health', { upstream: u.id, member: bad }).length, 0);
    assert.equal(after.samples('sluice_health_probes_total', { upstream: u.id, member: bad }).length, 0);
    assert.equal(after.samples('sluice_upstream_attempts_total', { upstream: u.id, member: bad }).length, 0);
    assert.equal(after.value('sluice_member_health', { upstream: u.id, member: good, state: 'healthy' }), 1);
  });

  test('a removed upstream and route take their series with them', async () => {
    const b = await backend('gone');
    const u = await expose('gone.test', { members: [{ host: '127.0.0.1', port: b.port }] });
    assert.equal((await get('gone.test', '/')).status, 200);
    assert.equal((await s()).value('sluice_http_requests_total', { upstream: u.id }), 1);
    const route = routeIds.get('gone.test')!;
    assert.equal((await gw.api('DELETE', `/v1/routes/${route}`)).status, 204);
    assert.equal((await gw.api('DELETE', `/v1/upstreams/${u.id}`)).status, 204);
    await gw.settled();
    const m = await s();
    for (const name of ['sluice_http_requests_total', 'sluice_upstream_attempts_total', 'sluice_http_request_duration_seconds', 'sluice_upstream_retries_total']) {
      assert.equal(m.samples(name, { upstream: u.id }).length, 0, `${name} of the removed upstream`);
    }
    assert.equal(m.samples('sluice_http_requests_total', { route }).length, 0);
  });

  test('control: the revision applied, apply durations, admin requests by face, action and code, node info, process metrics', async () => {
    const bad = await gw.api('POST', '/v1/upstreams', { tenantId: gw.tenantId });
    assert.equal(bad.status, 400);
    const m = await s();
    assert.equal(m.value('sluice_config_revision'), await gw.sluice.store.revision());
    assert.ok(m.histogram('sluice_config_apply_seconds', { kind: 'full' }).count >= 1, 'the full load at start');
    assert.ok(m.histogram('sluice_config_apply_seconds', { kind: 'delta' }).count >= 1, 'the deltas since');
    assert.ok(m.value('sluice_admin_requests_total', { face: 'native', action: 'POST /v1/upstreams', code: 'ok' }) >= 1);
    assert.equal(m.value('sluice_admin_requests_total', { face: 'native', action: 'POST /v1/upstreams', code: bad.body.code }), 1);
    assert.equal(m.value('sluice_store_errors_total', { source: 'follower' }), 0);
    const info = m.samples('sluice_node_info');
    assert.equal(info.length, 1);
    assert.equal(info[0]!.value, '1');
    assert.equal(info[0]!.labels!.region, 'default');
    assert.ok(m.value('sluice_process_resident_memory_bytes') > 0 || m.value('sluice_nodejs_heap_size_used_bytes') > 0, 'process metrics, prefixed');
  });

  test('the README lists every metric sluice serves, and the Grafana dashboard asks only for metrics that exist', async () => {
    const m = await s();
    const readme = readFileSync('README.md', 'utf8');
    const ours = [...m.families.keys()].filter((n) => !/^sluice_(process|nodejs)_/.test(n));
    assert.ok(ours.length >= 26, `at least the 26 metrics of the README (${ours.length})`);
    for (const name of ours) assert.ok(readme.includes(`| \`${name}\` |`), `README lists ${name}`);
    const dashboard = readFileSync('examples/grafana/sluice-dashboard.json', 'utf8');
    const used = new Set([...dashboard.matchAll(/\bsluice_[a-z0-9_]+/g)].map((x) => x[0].replace(/_bucket$/, '')));
    assert.ok(used.size >= 15, 'the dashboard shows the main series');
    for (const name of used) assert.ok(m.families.has(name), `the dashboard's ${name} is served`);
  });

  test('the metrics listener answers GET /metrics without a token; the admin listener\'s /metrics asks for the operator token', async () => {
    assert.equal((await fetch(metricsUrl)).status, 200);
    assert.equal((await fetch(metricsUrl.replace('/metrics', '/other'))).status, 404);
    assert.equal((await fetch(metricsUrl, { method: 'POST' })).status, 405);
    const admin = `${gw.adminUrl}/metrics`;
    assert.equal((await fetch(admin)).status, 401);
    assert.equal((await fetch(admin, { headers: { authorization: 'Bearer not-the-token-0123456789' } })).status, 401);
    const m = await scrape(admin, OPERATOR_TOKEN);
    assert.ok(m.families.has('sluice_http_requests_total'), 'the same metrics');
  });
});
