import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSluiceProcess, type SluiceProcess } from '../helpers/cli.js';
import { connect, firstLine, freePort, readAll, tcpOrigin, type TcpOrigin } from '../helpers/l4.js';

function firstChunk(s: import('node:net').Socket): Promise<string> {
  return new Promise((resolve) => {
    s.once('data', (d) => resolve(d.toString()));
    s.once('close', () => resolve(''));
  });
}

// With --workers each proxy is served by exactly one worker: its listeners bind there, its
// budget is one object there, and the primary settles its tasks and shows its listeners.
describe('L4 under --workers 2', () => {
  let gw: SluiceProcess;
  let origin: TcpOrigin;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(gw.adminUrl + path, {
      method, headers: { authorization: `Bearer ${gw.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  before(async () => {
    gw = await startSluiceProcess(['--workers', '2']);
    origin = await tcpOrigin('o');
  });
  after(async () => { await gw.cleanup(); await origin.close(); });

  test('proxies spread over the workers each run, carry traffic and keep one cap', async () => {
    const put = await api('PUT', '/v1/l4-regions/default', { access: true, origin: true, bandwidths: [100], concurrencies: [2], pool: ['127.0.90.0/28'] });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const tenant = (await api('POST', '/v1/tenants', { name: 'w' })).body.id;
    const [o] = (await api('POST', '/v1/origins', { tenantId: tenant, name: 'o', addresses: ['127.0.0.1'] })).body.items;
    const served: { host: string; port: number; listener: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const p = await api('POST', '/v1/proxies', { tenantId: tenant, name: `p${i}`, accessRegion: 'default', originRegion: 'default', bandwidth: 100, concurrent: 2, connectionCap: 1 });
      assert.equal(p.status, 201, JSON.stringify(p.body));
      let status = p.body.status;
      for (let j = 0; j < 300 && status !== 'RUNNING'; j++) { await new Promise((r) => setTimeout(r, 10)); status = (await api('GET', `/v1/proxies/${p.body.id}`)).body.status; }
      assert.equal(status, 'RUNNING', 'the worker serving it applied it and the primary settled it');
      const port = await freePort(p.body.address);
      const l = (await api('POST', '/v1/listeners', { proxyId: p.body.id, protocol: 'tcp', name: 'l', scheduler: 'rr', ports: [port] })).body.items[0];
      assert.equal((await api('PUT', `/v1/listeners/${l.id}/bindings`, { bindings: [{ originId: o.id, port: origin.port }] })).status, 200);
      served.push({ host: p.body.address, port, listener: l.id });
    }
    for (const s of served) {
      let bound = false;
      for (let j = 0; j < 300 && !bound; j++) { bound = (await api('GET', `/v1/listeners/${s.listener}`)).body.dataPlane?.bound === true; if (!bound) await new Promise((r) => setTimeout(r, 10)); }
      assert.ok(bound, 'the primary shows what the worker reported');
      // The bindings reach the worker a moment after the listener: until then it resets.
      let line = '';
      for (let j = 0; j < 100 && line !== 'o'; j++) line = await firstLine(s.host, s.port).catch(() => '');
      assert.equal(line, 'o');
      // One budget: with a cap of one, a second connection is refused while the first is open.
      // The slot of the connection just closed comes back once the worker has seen it close.
      let held = null;
      for (let j = 0; j < 100 && !held; j++) {
        const c = await connect(s.host, s.port).catch(() => null);
        c?.on('error', () => undefined);
        if (c && (await firstChunk(c)) === 'o\n') held = c;
        else { c?.destroy(); await new Promise((r) => setTimeout(r, 10)); }
      }
      assert.ok(held, 'the one connection the cap allows');
      const second = await connect(s.host, s.port).then((c) => readAll(c, 5000).then((r) => r.error), (err: NodeJS.ErrnoException) => err.code);
      assert.equal(second, 'ECONNRESET');
      held.destroy();
    }
  });
});
