import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { connect, freePort, startL4Gateway, tcpOrigin, type L4Gateway, type TcpOrigin } from '../helpers/l4.js';
import { until } from '../helpers/wait.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Echo { sock: dgram.Socket; port: number; sources: Set<string> }
async function udpEcho(name: string): Promise<Echo> {
  const sock = dgram.createSocket('udp4');
  const sources = new Set<string>();
  sock.on('message', (m, from) => { sources.add(`${from.address}:${from.port}`); sock.send(Buffer.concat([Buffer.from(`${name}:`), m]), from.port, from.address); });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { sock, port: sock.address().port, sources };
}

async function udpClient(): Promise<{ sock: dgram.Socket; got: string[] }> {
  const sock = dgram.createSocket('udp4');
  const got: string[] = [];
  sock.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { sock, got };
}


describe('L4 UDP listeners through the whole gateway', () => {
  let gw: L4Gateway;
  const echoes: Echo[] = [];
  let source: TcpOrigin;
  before(async () => {
    gw = await startL4Gateway();
    echoes.push(await udpEcho('a'), await udpEcho('b'));
    source = await tcpOrigin('source', (s) => {
      const chunk = Buffer.alloc(64 * 1024, 1);
      const pump = () => { while (!s.destroyed && s.write(chunk)); };
      s.on('drain', pump);
      pump();
    });
  });
  after(async () => { await gw.close(); for (const e of echoes) e.sock.close(); await source.close(); });

  async function udpListener(proxyId: string, address: string) {
    const port = await freePort(address);
    const l = await gw.listener(proxyId, { protocol: 'udp', ports: [port] });
    const [id] = await gw.origins(['127.0.0.1']);
    await gw.bind(l.id, echoes.map((e) => ({ originId: id, port: e.port })));
    return { id: l.id as string, port };
  }

  test('sessions per client address: datagrams and answers keep their boundaries, rr spreads the sessions', async () => {
    const p = await gw.proxy();
    const l = await udpListener(p.id, p.address);
    assert.equal((await gw.api('GET', `/v1/listeners/${l.id}`)).body.dataPlane.bound, true);
    const clients = [await udpClient(), await udpClient()];
    for (const [i, c] of clients.entries()) {
      for (const m of ['one', 'two', 'three']) c.sock.send(`${i}-${m}`, l.port, p.address);
    }
    await until('answers', () => clients.every((c) => c.got.length === 3));
    const firstOrigin = clients.map((c) => c.got[0]!.split(':')[0]);
    assert.notEqual(firstOrigin[0], firstOrigin[1], 'two sessions, two origins (rr)');
    for (const [i, c] of clients.entries()) {
      assert.deepEqual(c.got.map((g) => g.split(':')[1]).sort(), [`${i}-one`, `${i}-three`, `${i}-two`]);
      assert.equal(new Set(c.got.map((g) => g.split(':')[0])).size, 1, 'a session stays on its origin');
    }
    for (const c of clients) c.sock.close();
  });

  test('datagrams within the rate still pass while a bulk TCP connection fills the same proxy\'s budget', async () => {
    const RATE = 400_000;
    const p = await gw.proxy({ byteRate: RATE });
    const u = await udpListener(p.id, p.address);
    const tcpPort = await freePort(p.address);
    const t = await gw.listener(p.id, { ports: [tcpPort] });
    const [id] = await gw.origins(['127.0.0.1']);
    await gw.bind(t.id, [{ originId: id, port: source.port }]);
    const bulk = await connect(p.address, tcpPort);
    let pulled = 0;
    bulk.on('data', (d: Buffer) => { pulled += d.length; });
    await sleep(300);
    const c = await udpClient();
    let sent = 0;
    // 500-byte datagrams, 40 a second: a twentieth of the rate each way.
    for (let i = 0; i < 40; i++) { c.sock.send(Buffer.alloc(500, 3), u.port, p.address); sent++; await sleep(25); }
    await sleep(300);
    bulk.destroy();
    c.sock.close();
    assert.ok(pulled > RATE * 0.5, `the bulk connection moves: ${pulled}`);
    assert.ok(c.got.length >= sent * 0.8, `${c.got.length} of ${sent} datagrams answered beside the bulk flow`);
  });
});
