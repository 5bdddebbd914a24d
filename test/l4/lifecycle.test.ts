import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { connect, firstLine, freePort, readAll, readN, startL4Gateway, tcpOrigin, type L4Gateway, type TcpOrigin } from '../helpers/l4.js';

/** An echo round trip on an open connection: it still carries bytes both ways. */
async function echoes(s: net.Socket, text: string): Promise<boolean> {
  s.write(text);
  return (await readN(s, text.length, 3000)).toString() === text;
}

async function refused(host: string, port: number): Promise<string> {
  try {
    const s = await connect(host, port);
    const r = await readAll(s, 3000);
    return r.error ?? 'closed';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'error';
  }
}

describe('L4 lifecycle with connections open: close, open, delete, destroy, more listeners', () => {
  let gw: L4Gateway;
  let origin: TcpOrigin;
  const DRAIN_MS = 1500;
  before(async () => {
    gw = await startL4Gateway({ l4DrainMs: DRAIN_MS });
    origin = await tcpOrigin('o');
  });
  after(async () => { await gw.close(); await origin.close(); });

  async function served(proxyId?: string) {
    const p = proxyId ? (await gw.api('GET', `/v1/proxies/${proxyId}`)).body : await gw.proxy();
    const port = await freePort(p.address);
    const l = await gw.listener(p.id, { ports: [port] });
    const [id] = await gw.origins(['127.0.0.1']);
    await gw.bind(l.id, [{ originId: id, port: origin.port }]);
    return { proxy: p, listener: l, host: p.address as string, port };
  }
  async function open(t: { host: string; port: number }) {
    const s = await connect(t.host, t.port);
    assert.equal((await readN(s, 2)).toString(), 'o\n');
    return s;
  }

  test('close stops accepting and keeps open connections; open accepts again', async () => {
    const t = await served();
    const held = await open(t);
    assert.equal((await gw.api('POST', `/v1/proxies/${t.proxy.id}/close`)).status, 200);
    await gw.until(t.proxy.id, 'CLOSED');
    assert.equal(await refused(t.host, t.port), 'ECONNREFUSED');
    assert.ok(await echoes(held, 'still here'), 'the open connection carries on');
    assert.equal(gw.sluice.l4!.plane!.listenerReport(t.listener.id)?.bound, false);

    assert.equal((await gw.api('POST', `/v1/proxies/${t.proxy.id}/open`)).status, 200);
    await gw.until(t.proxy.id, 'RUNNING');
    await gw.applied();
    assert.equal(await firstLine(t.host, t.port), 'o');
    assert.ok(await echoes(held, 'and after'), 'reopening touched nothing open');
    held.destroy();
  });

  test('a listener added or deleted touches no other listener\'s connections; a deleted one drains, then resets', async () => {
    const t = await served();
    const other = await served(t.proxy.id);
    const keep = await open(other);
    const doomed = await open(t);
    const started = Date.now();
    const del = await gw.api('DELETE', `/v1/listeners/${t.listener.id}?force=true`);
    assert.equal(del.status, 204, JSON.stringify(del.body));
    await gw.applied();
    assert.equal(await refused(t.host, t.port), 'ECONNREFUSED', 'stopped accepting at once');
    assert.ok(await echoes(doomed, 'draining'), 'an open connection goes on while it drains');
    const end = await readAll(doomed, DRAIN_MS * 4);
    assert.equal(end.error, 'ECONNRESET', 'reset at the drain deadline');
    assert.ok(Date.now() - started >= DRAIN_MS - 100, `not before the deadline (${Date.now() - started} ms)`);
    assert.ok(await echoes(keep, 'untouched'), 'the other listener\'s connection is untouched');
    // A new listener on the proxy leaves the open one alone too.
    const third = await served(t.proxy.id);
    assert.equal(await firstLine(third.host, third.port), 'o');
    assert.ok(await echoes(keep, 'still untouched'));
    keep.destroy();
  });

  test('destroy stops accepting, drains, resets the rest, and the proxy is gone', async () => {
    const t = await served();
    const held = await open(t);
    const r = await gw.api('DELETE', `/v1/proxies/${t.proxy.id}?force=true`);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await gw.until(t.proxy.id, 'gone');
    assert.equal(await refused(t.host, t.port), 'ECONNREFUSED');
    assert.ok(await echoes(held, 'last words'));
    assert.equal((await readAll(held, DRAIN_MS * 4)).error, 'ECONNRESET');
  });
});
