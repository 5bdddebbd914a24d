import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, freePort, readAll, readN, startL4Gateway, tcpOrigin, type L4Gateway, type TcpOrigin } from '../helpers/l4.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('L4 budgets: one concurrency cap and two byte buckets per proxy, shared by all its listeners', () => {
  let gw: L4Gateway;
  let echo: TcpOrigin;
  /** Counts what each connection sends it, by the connection's first line (its name). */
  let sink: TcpOrigin;
  const sunk = new Map<string, number>();
  /** Sends bytes to whoever connects, as fast as the path takes them. */
  let source: TcpOrigin;
  before(async () => {
    gw = await startL4Gateway();
    echo = await tcpOrigin('o');
    sink = await tcpOrigin('sink', (s) => {
      let name: string | null = null;
      let buf = '';
      s.on('data', (d: Buffer) => {
        if (name === null) {
          buf += d.toString('latin1');
          const i = buf.indexOf('\n');
          if (i < 0) return;
          name = buf.slice(0, i);
          sunk.set(name, (sunk.get(name) ?? 0) + buf.length - i - 1);
          return;
        }
        sunk.set(name, (sunk.get(name) ?? 0) + d.length);
      });
      s.on('end', () => s.end());
    });
    source = await tcpOrigin('source', (s) => {
      const chunk = Buffer.alloc(64 * 1024, 1);
      const pump = () => { while (!s.destroyed && s.write(chunk)); };
      s.on('drain', pump);
      pump();
    });
  });
  after(async () => { await gw.close(); for (const o of [echo, sink, source]) await o.close(); });

  async function listenerOn(proxyId: string, origin: TcpOrigin, body: Record<string, unknown> = {}) {
    const p = (await gw.api('GET', `/v1/proxies/${proxyId}`)).body;
    const port = await freePort(p.address);
    const l = await gw.listener(proxyId, { ports: [port], ...body });
    const [id] = await gw.origins(['127.0.0.1']);
    await gw.bind(l.id, [{ originId: id, port: origin.port }]);
    return { listener: l, host: p.address as string, port };
  }
  async function opened(t: { host: string; port: number }) {
    const s = await connect(t.host, t.port);
    assert.equal((await readN(s, 2)).toString(), 'o\n');
    return s;
  }
  /** A connection refused at the cap: accepted by the kernel, reset at once, nothing read. */
  async function refusedAtCap(t: { host: string; port: number }) {
    // On loopback the reset can come back before the client has seen its handshake end.
    const s = await connect(t.host, t.port).catch((err: NodeJS.ErrnoException) => err.code ?? 'error');
    if (typeof s === 'string') { assert.equal(s, 'ECONNRESET'); return; }
    const r = await readAll(s, 5000);
    assert.equal(r.data.length, 0);
    assert.equal(r.error, 'ECONNRESET');
  }
  async function patch(id: string, body: Record<string, unknown>) {
    const r = await gw.api('PATCH', `/v1/proxies/${id}`, body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await gw.until(id, 'RUNNING');
    await gw.applied();
  }

  test('at the cap the next connection is refused at once, over all listeners; one closes, the next gets in', async () => {
    const p = await gw.proxy({ connectionCap: 3 });
    const a = await listenerOn(p.id, echo);
    const b = await listenerOn(p.id, echo);
    const held = [await opened(a), await opened(b), await opened(a)];
    await refusedAtCap(a);
    await refusedAtCap(b);
    for (const s of held) { s.write('x'); assert.equal((await readN(s, 1)).toString(), 'x', 'open connections untouched'); }
    assert.equal(gw.sluice.l4!.plane!.budget(p.id)!.refused, 2, 'each refusal counted');
    held.pop()!.destroy();
    for (let i = 0; i < 200 && gw.sluice.l4!.plane!.budget(p.id)!.connections > 2; i++) await sleep(5);
    held.push(await opened(b));
    await refusedAtCap(a);
    for (const s of held) s.destroy();
  });

  test('lowering the cap below the open count refuses new ones and drops none; raising it admits at once', async () => {
    const p = await gw.proxy({ connectionCap: 4 });
    const t = await listenerOn(p.id, echo);
    const held = [await opened(t), await opened(t), await opened(t)];
    await patch(p.id, { connectionCap: 1 });
    await refusedAtCap(t);
    for (const s of held) { s.write('y'); assert.equal((await readN(s, 1)).toString(), 'y'); }
    await patch(p.id, { connectionCap: 10 });
    held.push(await opened(t));
    for (const s of held) s.destroy();
  });

  /** Pushes bytes through `n` connections for `ms`; returns what the sink counted per connection. */
  async function push(t: { host: string; port: number }, names: string[], ms: number): Promise<number[]> {
    const chunk = Buffer.alloc(16 * 1024, 2);
    const socks = await Promise.all(names.map(async (name) => {
      const s = await connect(t.host, t.port);
      s.on('error', () => undefined);
      s.write(`${name}\n`);
      const pump = () => { while (!s.destroyed && s.write(chunk)); };
      s.on('drain', pump);
      pump();
      return s;
    }));
    await sleep(ms);
    for (const s of socks) s.destroy();
    await sleep(100);
    return names.map((n) => sunk.get(n) ?? 0);
  }

  test('the byte rate holds over several connections and listeners of one proxy, shared fairly; another proxy has its own', async () => {
    const RATE = 400_000;
    const MS = 2500;
    const p = await gw.proxy({ byteRate: RATE });
    const q = await gw.proxy({ byteRate: RATE });
    const a = await listenerOn(p.id, sink);
    const b = await listenerOn(p.id, sink);
    const c = await listenerOn(q.id, sink);
    const [fromA, fromB, fromC] = await Promise.all([push(a, ['a1', 'a2'], MS), push(b, ['b1', 'b2'], MS), push(c, ['c1'], MS)]);
    const mine = [...fromA!, ...fromB!];
    const total = mine.reduce((x, y) => x + y, 0);
    // Payload at the rate, plus at most one bucket depth (100 ms of rate, 64 KiB at least) and
    // the debt a shaped read may leave (bucket.ts: `spend` always succeeds; the tick wakes
    // readers while the balance covers their last chunk, so the debt is one read at most, a
    // read 64 KiB at most), plus a quarter second of rate for the test's own timing: generous
    // bounds, since a loaded machine slows a test down but never speeds it up.
    const expected = (RATE * MS) / 1000;
    assert.ok(total <= expected + 64 * 1024 + 64 * 1024 + RATE * 0.25, `one proxy's four connections moved ${total} bytes in ${MS} ms at ${RATE} B/s`);
    assert.ok(total >= expected * 0.6, `the proxy moved too little: ${total}`);
    for (const n of mine) assert.ok(n >= total / 4 / 2 && n <= (total / 4) * 2, `each connection near an equal share: ${mine.join(', ')}`);
    assert.ok(fromC![0]! >= expected * 0.6, `the other proxy has a budget of its own: ${fromC![0]}`);
  });

  test('origin to client is shaped too, and a retune takes effect on open connections without dropping them', async () => {
    const p = await gw.proxy({ byteRate: 100_000 });
    const t = await listenerOn(p.id, source);
    const s = await connect(t.host, t.port);
    let got = 0;
    s.on('data', (d: Buffer) => { got += d.length; });
    await sleep(1500);
    const slow = got;
    assert.ok(slow <= 150_000 + 64 * 1024 + 60_000, `at 100,000 B/s for 1.5 s: ${slow}`);
    await patch(p.id, { byteRate: 1_000_000 });
    const before = got;
    await sleep(1500);
    const fast = got - before;
    assert.ok(fast > slow * 3, `retuned in place: ${slow} then ${fast}`);
    assert.equal(s.destroyed, false, 'the connection stayed open across the retune');
    s.destroy();
  });

  test('idle timeout: a silent connection ends, a talking one lives on', async () => {
    const p = await gw.proxy();
    const t = await listenerOn(p.id, echo, { idleTimeout: 1 });
    const silent = await opened(t);
    const talking = await opened(t);
    const started = Date.now();
    const timer = setInterval(() => talking.write('.'), 250);
    const end = await readAll(silent, 10_000);
    const after = Date.now() - started;
    assert.notEqual(end.error, 'timeout');
    assert.ok(after >= 900, `not before its idle timeout: ${after} ms`);
    await sleep(800);
    clearInterval(timer);
    assert.equal(talking.destroyed, false, 'traffic keeps a connection alive');
    talking.destroy();
  });
});

