import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { request } from 'undici';
import { members, startBackend, startBackends, type Backend, type Echo } from '../helpers/backends.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('routing and headers through a real gateway', () => {
  let gw: TestGateway;
  let backends: Backend[];

  before(async () => {
    gw = await startTestGateway();
    backends = await startBackends(['exact', 'wild', 'any', 'api', 'post', 'rewrite']);
    // Answers with hop-by-hop headers, a header its Connection names, and trailers.
    backends.push(await startBackend('hops', (_req, res) => {
      res.writeHead(200, [
        'Content-Type', 'text/plain', 'Connection', 'keep-alive, X-Hop-Reply', 'X-Hop-Reply', '1', 'Keep-Alive', 'timeout=60',
        'Proxy-Connection', 'keep-alive', 'Upgrade', 'h2c', 'X-Multi', 'a', 'X-Multi', 'b', 'X-Case-Kept', 'yes', 'Trailer', 'grpc-status',
      ]);
      res.write('part one, ');
      res.addTrailers({ 'grpc-status': '0' });
      res.end('part two');
    }));
    const [exact, wild, any, api, post, rewrite, hops] = backends.map((b) => members([b]));
    await gw.expose({ members: exact }, { hosts: ['shop.example.com'] });
    await gw.expose({ members: wild }, { hosts: ['*.example.com'] });
    await gw.expose({ members: any }, {});
    await gw.expose({ members: api }, { paths: ['/api'], stripPrefix: true });
    await gw.expose({ members: post }, { paths: ['/api/orders'], methods: ['POST'] });
    await gw.expose({ members: rewrite, upstreamHost: 'internal.svc' }, { hosts: ['rewrite.test'] });
    await gw.expose({ members: hops }, { hosts: ['hops.test'] });
  });
  after(async () => {
    await gw.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  async function send(path: string, opts: { host?: string; method?: string; headers?: Record<string, string> } = {}) {
    const res = await request(gw.proxyUrl + path, { method: (opts.method ?? 'GET') as 'GET', headers: { ...(opts.host ? { host: opts.host } : {}), ...opts.headers } });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, json: text ? JSON.parse(text) : null };
  }

  test('host: exact beats wildcard beats any; wildcard matches any depth of subdomain', async () => {
    assert.equal((await send('/', { host: 'shop.example.com' })).json.name, 'exact');
    assert.equal((await send('/', { host: 'SHOP.example.com:8080' })).json.name, 'exact', 'case and port ignored');
    assert.equal((await send('/', { host: 'a.example.com' })).json.name, 'wild');
    assert.equal((await send('/', { host: 'b.c.example.com' })).json.name, 'wild');
    assert.equal((await send('/', { host: 'example.com' })).json.name, 'any');
    assert.equal((await send('/', { host: 'other.test' })).json.name, 'any');
  });

  test('longest path prefix wins, then method; strip-prefix keeps the rest of the path and the query', async () => {
    const a = await send('/api/users?x=1', { host: 'other.test' });
    assert.equal(a.json.name, 'api');
    assert.equal(a.json.url, '/users?x=1');
    assert.equal((await send('/api', { host: 'other.test' })).json.url, '/');
    const p = await send('/api/orders/7', { host: 'other.test', method: 'POST' });
    assert.equal(p.json.name, 'post');
    assert.equal(p.json.url, '/api/orders/7', 'no strip on this route');
    assert.equal((await send('/api/orders/7', { host: 'other.test' })).json.name, 'api', 'GET falls back to the shorter prefix');
  });

  test('hop-by-hop headers are dropped and X-Forwarded-* / X-Real-IP are set', async () => {
    // node:http, because undici will not send a Connection header naming other headers.
    const r = await new Promise<{ json: Echo; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = httpRequest(`${gw.proxyUrl}/h`, { headers: { host: 'other.test', connection: 'keep-alive, x-secret-hop', 'x-secret-hop': '1', 'x-forwarded-for': '203.0.113.9', 'x-custom': 'kept' }, agent: false }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => resolve({ json: JSON.parse(text) as Echo, headers: res.headers }));
      });
      req.on('error', reject);
      req.end();
    });
    const h = r.json.headers;
    assert.equal(h['x-secret-hop'], undefined);
    assert.equal(h['x-custom'], 'kept');
    assert.equal(h['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(h['x-real-ip'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-host'], 'other.test');
    assert.equal(h.host, 'other.test', 'the client Host passes when the upstream sets none');
    assert.equal(r.headers['x-backend'], 'any', 'response headers pass back');
  });

  test('response: hop-by-hop headers and those Connection names are dropped, the rest pass with their case, trailers too', async () => {
    const r = await new Promise<{ raw: string[]; body: string; trailers: Record<string, unknown> }>((resolve, reject) => {
      const req = httpRequest(`${gw.proxyUrl}/`, { headers: { host: 'hops.test', te: 'trailers' }, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => resolve({ raw: res.rawHeaders, body, trailers: res.trailers }));
      });
      req.on('error', reject);
      req.end();
    });
    const names = r.raw.filter((_, i) => i % 2 === 0);
    for (const gone of ['X-Hop-Reply', 'Keep-Alive', 'Proxy-Connection', 'Upgrade']) assert.ok(!names.includes(gone), `${gone} dropped: ${names}`);
    assert.ok(!r.raw.includes('keep-alive, X-Hop-Reply'), 'the upstream Connection value does not pass');
    assert.ok(names.includes('X-Case-Kept'), 'names keep their case');
    assert.deepEqual(r.raw.filter((_, i) => i > 0 && r.raw[i - 1] === 'X-Multi'), ['a', 'b'], 'repeated headers stay separate');
    assert.equal(r.body, 'part one, part two');
    assert.equal(r.trailers['grpc-status'], '0');
  });

  test('an upstream Host replaces the client Host', async () => {
    const r = await send('/', { host: 'rewrite.test' });
    assert.equal(r.json.name, 'rewrite');
    assert.equal(r.json.headers.host, 'internal.svc');
    assert.equal(r.json.headers['x-forwarded-host'], 'rewrite.test');
  });

  test('no route: 404 with a JSON body and x-sluice-error', async () => {
    const gw2 = await startTestGateway();
    try {
      const res = await request(`${gw2.proxyUrl}/nowhere`);
      assert.equal(res.statusCode, 404);
      assert.equal(res.headers['x-sluice-error'], 'route_not_found');
      assert.equal(((await res.body.json()) as { code: string }).code, 'route_not_found');
    } finally {
      await gw2.close();
    }
  });

  test('an upstream with no members: 503 no_healthy_upstream', async () => {
    await gw.expose({ members: [] }, { hosts: ['empty.test'] });
    const r = await send('/', { host: 'empty.test' });
    assert.equal(r.status, 503);
    assert.equal(r.headers['x-sluice-error'], 'no_healthy_upstream');
    assert.equal(r.json.code, 'no_healthy_upstream');
  });
});
