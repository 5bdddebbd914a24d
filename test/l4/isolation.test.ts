import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Proxy, StreamListener } from '../../src/model/gaap.js';
import { firstLine, freePort, startL4Gateway, tcpOrigin, type L4Gateway, type TcpOrigin } from '../helpers/l4.js';

// Invariant 9 for the L4 plane: a stored proxy or listener the plan builder cannot build
// (written straight into the store, as an older release or another node could have) is left
// out and logged; every other proxy and listener is served, those stored later included.
describe('L4: an object the plan builder cannot build is isolated', () => {
  let gw: L4Gateway;
  let origin: TcpOrigin;
  const logged: { msg: string; id?: string }[] = [];
  before(async () => {
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { for (const l of chunk.toString().split('\n')) if (l) logged.push(JSON.parse(l)); done(); } });
    gw = await startL4Gateway({ logger: pino({ level: 'error' }, sink) });
    origin = await tcpOrigin('o');
  });
  after(async () => { await gw.close(); await origin.close(); });

  async function served() {
    const p = await gw.proxy();
    const port = await freePort(p.address);
    const l = await gw.listener(p.id, { ports: [port] });
    const [id] = await gw.origins(['127.0.0.1']);
    await gw.bind(l.id, [{ originId: id, port: origin.port }]);
    return { proxy: p, listener: l, host: p.address as string, port };
  }

  test('a listener with an unknown scheduler and a proxy with a broken budget stop nothing else', async () => {
    const a = await served();
    const sibling = await served();
    const b = await gw.listener(sibling.proxy.id, { ports: [await freePort(sibling.host)] });
    const doomed = await served();
    const store = gw.sluice.store;
    await store.transact(async (tx) => {
      const l = (await tx.get('streamListener', b.id)) as StreamListener;
      await tx.put('streamListener', { ...l, scheduler: 'fastest' as StreamListener['scheduler'] });
      const p = (await tx.get('proxy', doomed.proxy.id)) as Proxy;
      await tx.put('proxy', { ...p, byteRate: -5 });
    });
    await gw.applied();
    const problems = gw.sluice.l4!.plane!.snapshot.problems.map((x) => [x.kind, x.id]).sort();
    assert.deepEqual(problems, [['proxy', doomed.proxy.id], ['streamListener', b.id]].sort());
    assert.ok(logged.some((l) => l.id === b.id), 'the listener is logged');
    assert.ok(logged.some((l) => l.id === doomed.proxy.id), 'the proxy is logged');
    // The rest is served, the broken listener's sibling on the same proxy included.
    assert.equal(await firstLine(a.host, a.port), 'o');
    assert.equal(await firstLine(sibling.host, sibling.port), 'o');
    // And what is stored afterwards, for another proxy, is served too.
    const later = await served();
    assert.equal(await firstLine(later.host, later.port), 'o');
  });
});
