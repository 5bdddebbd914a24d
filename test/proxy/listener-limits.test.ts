import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openRaw as open, until, type RawClient as Client } from '../helpers/raw-client.js';
import { Agent, request } from 'undici';
import { members, startBackend, type Backend } from '../helpers/backends.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import type { ListenerLimits } from '../../src/proxy/limits.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));



/** A connection from `localAddress` that is served one request and then kept open, or null if the gateway closed it unserved. */
async function held(port: number, localAddress: string): Promise<Client | null> {
  const c = await open(port, localAddress);
  c.s.write('GET / HTTP/1.1\r\nhost: limits.test\r\n\r\n');
  await until(() => c.closedAt !== null || c.text.includes('"name"'), 2000);
  if (c.text.startsWith('HTTP/1.1 200') && c.closedAt === null) return c;
  assert.equal(c.text, '', 'a refused connection gets no answer');
  assert.ok(await until(() => c.closedAt !== null, 2000), 'a refused connection is closed');
  return null;
}

describe('proxy listener timeouts and connection caps', () => {
  const gws: TestGateway[] = [];
  let backend: Backend;

  after(async () => {
    await Promise.all(gws.map((g) => g.close()));
    await backend?.close();
  });

  async function gateway(limits: Partial<ListenerLimits>): Promise<number> {
    backend ??= await startBackend('limits');
    const gw = await startTestGateway({ listenerLimits: limits });
    gws.push(gw);
    await gw.expose({ members: members([backend]) }, { hosts: ['limits.test'] });
    return gw.sluice.proxyPort;
  }

  test('a slow or silent request head gets 408 and is closed after the header timeout; other clients keep working', { timeout: 30_000 }, async () => {
    const port = await gateway({ headerTimeoutMs: 1000 });
    const started = Date.now();
    const head = 'GET / HTTP/1.1\r\nhost: limits.test\r\nx-padding: slowloris-slowloris-slowloris\r\n\r\n';
    // One byte every 200 ms: the head would take about 15 s.
    const drip = await open(port);
    const silent = await open(port);
    // A complete head, then the body one byte every 200 ms: the header timeout does not apply to it.
    const body = await open(port);
    body.s.write('POST / HTTP/1.1\r\nhost: limits.test\r\ncontent-length: 12\r\n\r\n');
    const agent = new Agent({ connections: 1 });
    const statuses: number[] = [];
    let bodySent = 0;
    try {
      for (let i = 0; i < head.length && drip.closedAt === null; i++) {
        drip.s.write(head[i]!);
        if (bodySent < 12) { body.s.write('x'); bodySent++; }
        const r = await request(`http://127.0.0.1:${port}/`, { headers: { host: 'limits.test' }, dispatcher: agent });
        await r.body.dump();
        statuses.push(r.statusCode);
        await sleep(200);
      }
      assert.ok(await until(() => drip.closedAt !== null && silent.closedAt !== null, 5000), 'both closed');
      for (const [name, c] of [['drip', drip], ['silent', silent]] as const) {
        assert.match(c.text, /^HTTP\/1.1 408 /, name);
        // The header timeout plus Node's 1 s check, with room to spare.
        assert.ok(c.closedAt! - started < 5000, `${name} closed after ${c.closedAt! - started} ms`);
      }
      for (; bodySent < 12; bodySent++) { body.s.write('x'); await sleep(200); }
      assert.ok(await until(() => body.text.includes('"bodyBytes":12'), 2000), `a slow body is not cut by the header timeout: ${body.text}`);
      assert.ok(statuses.length >= 5 && statuses.every((s) => s === 200), `the other client was served meanwhile: ${statuses.join(',')}`);
    } finally {
      await agent.close();
      for (const c of [drip, silent, body]) c.s.destroy();
    }
  });

  test('a kept-alive connection stalled in its second request head, or a body slower than the request timeout, gets 408', { timeout: 30_000 }, async () => {
    const port = await gateway({ headerTimeoutMs: 1000, requestTimeoutMs: 2000 });
    const stalled = await open(port);
    stalled.s.write('GET / HTTP/1.1\r\nhost: limits.test\r\n\r\n');
    assert.ok(await until(() => stalled.text.includes('"name"'), 2000), 'first request served');
    const firstDone = Date.now();
    stalled.text = '';
    stalled.s.write('GET /second HTTP/1.1\r\nhos');
    const slowBody = await open(port);
    slowBody.s.write('PUT / HTTP/1.1\r\nhost: limits.test\r\ncontent-length: 100\r\n\r\n');
    for (let i = 0; i < 40 && slowBody.closedAt === null; i++) { slowBody.s.write('y'); await sleep(200); }
    assert.ok(await until(() => stalled.closedAt !== null && slowBody.closedAt !== null, 5000), 'both closed');
    assert.match(stalled.text, /^HTTP\/1.1 408 /);
    assert.ok(stalled.closedAt! - firstDone < 5000, `stalled second head closed after ${stalled.closedAt! - firstDone} ms`);
    assert.match(slowBody.text, /^HTTP\/1.1 408 /);
  });

  test('--send-timeout: a client that reads nothing of a large answer is cut and its member connection closed; one that reads slowly gets it whole', { timeout: 60_000 }, async () => {
    // Larger than what the kernel's buffers between the gateway and a client take.
    const SIZE = 32 * 1024 * 1024;
    const closed: number[] = [];
    const big = await startBackend('big', (_req, res) => {
      res.on('close', () => closed.push(Date.now()));
      res.writeHead(200, { 'content-length': SIZE });
      res.end(Buffer.alloc(SIZE, 98));
    });
    try {
      const gw = await startTestGateway({ listenerLimits: { sendTimeoutMs: 2000 } });
      gws.push(gw);
      await gw.expose({ members: members([big]) }, { hosts: ['big.test'] });
      const port = gw.sluice.proxyPort;

      const stuck = await open(port);
      stuck.s.pause();
      stuck.s.write('GET / HTTP/1.1\r\nhost: big.test\r\n\r\n');
      assert.ok(await until(() => closed.length === 1, 15_000), 'the member connection serving the client that reads nothing is closed');
      // Reading again, it finds its connection reset, short of the answer.
      stuck.s.resume();
      assert.ok(await until(() => stuck.closedAt !== null, 10_000), 'the client that read nothing was cut');
      assert.ok(Buffer.byteLength(stuck.text, 'latin1') < SIZE, 'short of the answer');

      // Reads in bursts with pauses shorter than the timeout: it gets every byte.
      const slow = await open(port);
      let got = 0;
      slow.s.on('data', (d: Buffer) => { got += d.length; });
      const toggler = setInterval(() => (slow.s.isPaused() ? slow.s.resume() : slow.s.pause()), 300);
      try {
        slow.s.write('GET / HTTP/1.1\r\nhost: big.test\r\n\r\n');
        assert.ok(await until(() => got >= SIZE || slow.closedAt !== null, 45_000), `the slow reader got ${got} bytes`);
        assert.equal(slow.closedAt, null, 'the slow reader was not cut');
        assert.ok(got >= SIZE, `the slow reader got ${got} of ${SIZE} bytes`);
      } finally {
        clearInterval(toggler);
        slow.s.destroy();
      }
    } finally {
      await big.close();
    }
  });

  test('--max-connections-per-ip: the next connection from a full address is closed at once, other addresses still get in', { timeout: 30_000 }, async () => {
    const port = await gateway({ maxConnectionsPerIp: 2 });
    const two = [await held(port, '127.0.0.2'), await held(port, '127.0.0.2')];
    assert.ok(two.every((c) => c !== null), 'two from 127.0.0.2 served');
    assert.equal(await held(port, '127.0.0.2'), null, 'a third from 127.0.0.2 is refused');
    const others = [await held(port, '127.0.0.3'), await held(port, '127.0.0.3'), await held(port, '127.0.0.1')];
    assert.ok(others.every((c) => c !== null), 'other addresses get in meanwhile');
    assert.equal(await held(port, '127.0.0.3'), null, 'and have their own limit');
    two[0]!.s.destroy();
    let again: Client | null = null;
    for (let i = 0; i < 20 && again === null; i++) { await sleep(50); again = await held(port, '127.0.0.2'); }
    assert.ok(again !== null, 'once one closes, 127.0.0.2 gets in again');
    for (const c of [...two, ...others, again]) c?.s.destroy();
  });

  test('--max-connections: the N+1th connection is closed at once, from any address, and one gets in again once one closes', { timeout: 30_000 }, async () => {
    const port = await gateway({ maxConnections: 3 });
    const three = [await held(port, '127.0.0.2'), await held(port, '127.0.0.2'), await held(port, '127.0.0.3')];
    assert.ok(three.every((c) => c !== null), 'three served');
    for (const addr of ['127.0.0.2', '127.0.0.4', '127.0.0.1']) assert.equal(await held(port, addr), null, `a fourth from ${addr} is refused`);
    three[1]!.s.destroy();
    let again: Client | null = null;
    for (let i = 0; i < 20 && again === null; i++) { await sleep(50); again = await held(port, '127.0.0.4'); }
    assert.ok(again !== null, 'once one closes, a new one gets in');
    assert.equal(await held(port, '127.0.0.5'), null, 'and the cap holds again');
    for (const c of [...three, again]) c?.s.destroy();
  });
});
