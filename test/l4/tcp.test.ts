import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import gaapModule from 'tencentcloud-sdk-nodejs/tencentcloud/services/gaap/v20180529/gaap_client.js';
import { connect, firstLine, freePort, readAll, readN, startL4Gateway, tcpOrigin, type L4Gateway, type TcpOrigin } from '../helpers/l4.js';

for (const v of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete process.env[v];
const { Client } = gaapModule as unknown as { Client: new (cfg: unknown) => { DescribeTCPListeners(req: Record<string, unknown>): Promise<any> } };

describe('L4 TCP listeners carry traffic to origins', () => {
  let gw: L4Gateway;
  const origins: TcpOrigin[] = [];
  before(async () => {
    gw = await startL4Gateway();
    for (const n of ['a', 'b', 'c']) origins.push(await tcpOrigin(n));
  });
  after(async () => {
    await gw.close();
    for (const o of origins) await o.close();
  });

  async function listenerTo(bindings: { origin: TcpOrigin | number; weight?: number; role?: string }[], body: Record<string, unknown> = {}, proxyBody: Record<string, unknown> = {}) {
    const p = await gw.proxy(proxyBody);
    const port = await freePort(p.address);
    const l = await gw.listener(p.id, { ports: [port], ...body });
    const ids = await gw.origins(['127.0.0.1']);
    await gw.bind(l.id, bindings.map((b) => ({
      originId: ids[0], port: typeof b.origin === 'number' ? b.origin : b.origin.port,
      ...(b.weight ? { weight: b.weight } : {}), ...(b.role ? { role: b.role } : {}),
    })));
    return { proxy: p, listener: l, host: p.address as string, port };
  }

  test('a proxy goes RUNNING by itself once its node applied it, on an address of its region', async () => {
    const p = await gw.proxy();
    assert.equal(p.status, 'RUNNING');
    assert.match(p.address, /^127\.0\.\d+\.\d+$/);
  });

  test('bytes go both ways, and a client that half-closes still gets the whole answer', async () => {
    const big = await tcpOrigin('big', (s) => {
      const parts: Buffer[] = [];
      s.on('data', (d) => parts.push(d));
      // Answers only once the client has finished sending (its FIN), like a BusyBox wget peer.
      s.on('end', () => { const all = Buffer.concat(parts); s.write(Buffer.alloc(3 * 1024 * 1024, 7)); s.end(all); });
    });
    try {
      const t = await listenerTo([{ origin: big }]);
      const c = await connect(t.host, t.port);
      const payload = Buffer.from('hello through the L4 proxy');
      c.end(payload);
      const r = await readAll(c);
      assert.equal(r.error, null);
      assert.equal(r.data.length, 3 * 1024 * 1024 + payload.length);
      assert.deepEqual(r.data.subarray(3 * 1024 * 1024), payload);
    } finally { await big.close(); }
  });

  test('every byte of the answer arrives as the origin sent it to a slow reader (the origin leg reuses its read buffers)', async () => {
    // Random bytes, so a read buffer filled again before its last chunk went out shows as
    // wrong bytes. The origin sends a few KiB every millisecond, faster than the client
    // reads: once the kernel's buffers towards the client are full, the proxy's writes of
    // those small reads queue while it goes on reading the origin.
    const batches = Array.from({ length: 500 }, (_, i) => Array.from({ length: 8 }, (_, j) => randomBytes(1 + ((i * 8 + j) * 7919) % 3000)));
    const want = Buffer.concat(batches.flat());
    const o = await tcpOrigin('pattern', (s) => {
      s.once('data', () => {
        const send = (i: number): void => {
          if (i === batches.length) { s.end(); return; }
          for (const b of batches[i]!) s.write(b);
          setTimeout(() => send(i + 1), 1);
        };
        send(0);
      });
    });
    try {
      const t = await listenerTo([{ origin: o }]);
      const c = await connect(t.host, t.port);
      c.write('go');
      // Reads nothing for a while, then one chunk every 15 ms for a while, then at full speed.
      let pauses = 0;
      c.on('data', () => {
        if (pauses < 200) { pauses++; c.pause(); setTimeout(() => c.resume(), 15); }
      });
      c.pause();
      setTimeout(() => c.resume(), 300);
      c.end();
      const r = await readAll(c, 30_000);
      assert.equal(r.error, null);
      assert.equal(r.data.length, want.length);
      assert.ok(r.data.equals(want), 'the bytes the client read are the ones the origin wrote');
    } finally { await o.close(); }
  });

  test('every byte of many small answers in a row arrives, to a reader that stalls and then reads at full speed (the read buffers alternate)', async () => {
    // Each piece goes out on its own turn of the origin, so the gateway mostly reads one
    // small piece at a time. While the client reads, the gateway asks for its next read
    // buffer while the last one's chunk is still held for its turn's batched write; while it
    // stalls, many small chunks queue behind the full kernel buffer. Random bytes: a buffer
    // read into again before its chunk went out shows as wrong bytes.
    const pieces = Array.from({ length: 6000 }, (_, i) => randomBytes(1 + (i * 7919) % 2000));
    const want = Buffer.concat(pieces);
    const o = await tcpOrigin('pieces', (s) => {
      s.once('data', () => {
        const send = (i: number): void => {
          if (i === pieces.length) { s.end(); return; }
          s.write(pieces[i]!);
          setImmediate(() => send(i + 1));
        };
        send(0);
      });
    });
    try {
      const t = await listenerTo([{ origin: o }]);
      const c = await connect(t.host, t.port);
      c.write('go');
      c.pause();
      setTimeout(() => c.resume(), 500);
      c.end();
      const r = await readAll(c, 30_000);
      assert.equal(r.error, null);
      assert.equal(r.data.length, want.length);
      assert.ok(r.data.equals(want), 'the bytes the client read are the ones the origin wrote');
    } finally { await o.close(); }
  });

  test('the origin half-closing first still gets everything the client sends after', async () => {
    const got: Buffer[] = [];
    const o = await tcpOrigin('first', (s) => {
      s.end('bye\n');
      s.on('data', (d) => got.push(d));
    });
    try {
      const t = await listenerTo([{ origin: o }]);
      const c = await connect(t.host, t.port);
      const first = await readN(c, 4);
      assert.equal(first.toString(), 'bye\n');
      await new Promise((r) => c.once('end', r));
      c.end('after your FIN');
      await new Promise((r) => c.once('close', r));
      for (let i = 0; i < 100 && Buffer.concat(got).toString() !== 'after your FIN'; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(Buffer.concat(got).toString(), 'after your FIN');
    } finally { await o.close(); }
  });

  test('rr spreads connections evenly, wrr by weight', async () => {
    const rr = await listenerTo(origins.map((o) => ({ origin: o })));
    const seen = new Map<string, number>();
    for (let i = 0; i < 30; i++) { const n = await firstLine(rr.host, rr.port); seen.set(n, (seen.get(n) ?? 0) + 1); }
    assert.deepEqual([...seen.entries()].sort(), [['a', 10], ['b', 10], ['c', 10]]);

    const wrr = await listenerTo(origins.map((o, i) => ({ origin: o, weight: i + 1 })), { scheduler: 'wrr' });
    const w = new Map<string, number>();
    for (let i = 0; i < 60; i++) { const n = await firstLine(wrr.host, wrr.port); w.set(n, (w.get(n) ?? 0) + 1); }
    assert.deepEqual([...w.entries()].sort(), [['a', 10], ['b', 20], ['c', 30]]);
  });

  test('lc sends a new connection to the origin with the fewest open ones', async () => {
    const lc = await listenerTo(origins.map((o) => ({ origin: o })), { scheduler: 'lc' });
    const held: net.Socket[] = [];
    const names: string[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const s = await connect(lc.host, lc.port);
        held.push(s);
        names.push((await readN(s, 2)).toString().trim());
      }
      assert.deepEqual([...names].sort(), ['a', 'b', 'c'], 'three open connections, one per origin');
      // The one on 'b' ends: the next connection goes where there is room.
      const iB = names.indexOf('b');
      held[iB]!.destroy();
      for (let i = 0; i < 100 && origins[1]!.sockets.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(await firstLine(lc.host, lc.port), 'b');
    } finally { for (const s of held) s.destroy(); }
  });

  test('a connect failure goes on to the next origin before any byte went upstream', async () => {
    const dead = await freePort('127.0.0.1');
    const t = await listenerTo([{ origin: dead }, { origin: origins[0]! }]);
    for (let i = 0; i < 6; i++) assert.equal(await firstLine(t.host, t.port), 'a');
  });

  test('with no origin reachable the client gets a reset, and the plane goes on', async () => {
    const t = await listenerTo([{ origin: await freePort('127.0.0.1') }]);
    const c = await connect(t.host, t.port);
    const r = await readAll(c);
    assert.equal(r.data.length, 0);
    assert.equal(r.error, 'ECONNRESET');
    assert.equal(gw.sluice.l4!.plane!.budget(t.proxy.id)!.connections, 0, 'the slot went back');
  });

  test('a reset by the origin resets the client, and a reset by the client resets the origin', async () => {
    let originSide: net.Socket | null = null;
    const resetting = await tcpOrigin('r', (s) => { originSide = s; s.write('ready\n'); });
    try {
      const t = await listenerTo([{ origin: resetting }]);
      const c = await connect(t.host, t.port);
      await readN(c, 6);
      (originSide as unknown as net.Socket).resetAndDestroy();
      assert.equal((await readAll(c)).error, 'ECONNRESET');

      const c2 = await connect(t.host, t.port);
      await readN(c2, 6);
      const seen = new Promise<string | null>((resolve) => {
        const s = originSide as unknown as net.Socket;
        s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
        s.once('close', () => resolve(null));
      });
      c2.resetAndDestroy();
      assert.equal(await seen, 'ECONNRESET');
    } finally { await resetting.close(); }
  });

  test('PROXY protocol v1: the origin reads the client and the address it reached first', async () => {
    const heads: Buffer[] = [];
    const o = await tcpOrigin('pp', (s) => { s.once('data', (d) => { heads.push(d); s.end(); }); });
    try {
      const t = await listenerTo([{ origin: o }], { clientIp: 'proxy_protocol' });
      const c = await connect(t.host, t.port);
      const clientPort = c.localPort;
      c.end('payload');
      await readAll(c);
      for (let i = 0; i < 100 && heads.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      const text = Buffer.concat(heads).toString('latin1');
      assert.equal(text.split('\r\n')[0], `PROXY TCP4 127.0.0.1 ${t.host} ${clientPort} ${t.port}`);
    } finally { await o.close(); }
  });

  test('PROXY protocol v2 (operator option): the binary header, TCP4, with both ends', async () => {
    const heads: Buffer[] = [];
    const o = await tcpOrigin('pp2', (s) => { s.on('data', (d) => heads.push(d)); s.on('end', () => s.end()); });
    try {
      const t = await listenerTo([{ origin: o }], { clientIp: 'proxy_protocol', proxyProtocolVersion: 2 });
      const c = await connect(t.host, t.port);
      const clientPort = c.localPort!;
      c.end('payload');
      await readAll(c);
      for (let i = 0; i < 100 && Buffer.concat(heads).length < 35; i++) await new Promise((r) => setTimeout(r, 10));
      const got = Buffer.concat(heads);
      const want = Buffer.alloc(28);
      Buffer.from('0d0a0d0a000d0a515549540a', 'hex').copy(want, 0);
      want[12] = 0x21; want[13] = 0x11; want.writeUInt16BE(12, 14);
      Buffer.from([127, 0, 0, 1]).copy(want, 16);
      Buffer.from(t.host.split('.').map(Number)).copy(want, 20);
      want.writeUInt16BE(clientPort, 24); want.writeUInt16BE(t.port, 26);
      assert.deepEqual(got.subarray(0, 28), want);
      assert.equal(got.subarray(28).toString(), 'payload', 'then the client\'s bytes');
    } finally { await o.close(); }
  });

  test('session persistence (operator option): a client address keeps its origin, another gets its own pick', async () => {
    const t = await listenerTo(origins.map((o) => ({ origin: o })), { sessionPersist: 60 });
    const from = async (localAddress: string) => {
      const s = net.connect({ host: t.host, port: t.port, localAddress });
      const line = await new Promise<string>((resolve, reject) => {
        let buf = '';
        s.on('data', (d) => { buf += d.toString(); if (buf.includes('\n')) resolve(buf.split('\n')[0]!); });
        s.once('error', reject);
      });
      s.destroy();
      return line;
    };
    const one = new Set<string>();
    const two = new Set<string>();
    for (let i = 0; i < 6; i++) { one.add(await from('127.0.0.1')); two.add(await from('127.0.0.9')); }
    assert.equal(one.size, 1, `one origin for 127.0.0.1: ${[...one]}`);
    assert.equal(two.size, 1, `one origin for 127.0.0.9: ${[...two]}`);
    assert.notEqual([...one][0], [...two][0], 'rr gave the second client the next origin');
  });

  test('back-pressure: a client that stops reading stops the origin too, the gateway does not buffer without bound', async () => {
    let written = 0;
    const flood = await tcpOrigin('flood', (s) => {
      const chunk = Buffer.alloc(64 * 1024, 5);
      const pump = () => { while (!s.destroyed) { written += chunk.length; if (!s.write(chunk)) return; } };
      s.on('drain', pump);
      pump();
    });
    try {
      const t = await listenerTo([{ origin: flood }]);
      const c = await connect(t.host, t.port);
      c.pause();
      // Kernel buffers on loopback fill first; then nothing more moves until the client reads.
      await new Promise((r) => setTimeout(r, 1500));
      const settled = written;
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(written - settled <= 256 * 1024, `the origin kept writing while nobody read: ${settled} then ${written}`);
      assert.ok(settled < 64 * 1024 * 1024, `bounded: ${settled} bytes in flight`);
      // Reading again lets it all flow.
      let got = 0;
      c.on('data', (d: Buffer) => { got += d.length; });
      c.resume();
      for (let i = 0; i < 200 && got < settled; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(got >= settled, `the client gets what was held back: ${got} of ${settled}`);
      c.destroy();
    } finally { await flood.close(); }
  });

  test('an IPv6 proxy: traffic both ways and the PROXY v1 line in TCP6 form', async () => {
    const put = await gw.api('PUT', `/v1/l4-regions/${gw.region}`, { access: true, origin: true, bandwidths: [1000], concurrencies: [10], pool: [gw.pool, '::1'] });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const got: Buffer[] = [];
    const o = await tcpOrigin('v6', (s) => { s.on('data', (d) => got.push(d)); s.on('end', () => s.end('bye')); }, '::1');
    try {
      const p = await gw.proxy({ ipVersion: 'IPv6' });
      assert.equal(p.address, '::1');
      const port = await freePort('::1');
      const l = await gw.listener(p.id, { ports: [port], clientIp: 'proxy_protocol' });
      const [id] = await gw.origins(['::1']);
      await gw.bind(l.id, [{ originId: id, port: o.port }]);
      const c = await connect('::1', port);
      const clientPort = c.localPort;
      c.end('hello');
      const r = await readAll(c);
      assert.equal(r.data.toString(), 'bye');
      assert.equal(Buffer.concat(got).toString('latin1'), `PROXY TCP6 ::1 ::1 ${clientPort} ${port}\r\nhello`);
    } finally { await o.close(); }
  });

  test('a port taken on the machine is reported on the listener, not a crash', async () => {
    const p = await gw.proxy();
    const squatter = net.createServer();
    const port = await freePort(p.address);
    await new Promise<void>((r) => squatter.listen(port, p.address, r));
    try {
      const l = await gw.listener(p.id, { ports: [port] });
      const report = gw.sluice.l4!.plane!.listenerReport(l.id);
      assert.equal(report?.bound, false);
      assert.match(report!.error!, new RegExp(`port ${port} .*taken`));
      const shown = (await gw.api('GET', `/v1/listeners/${l.id}`)).body.dataPlane;
      assert.deepEqual([shown.bound, shown.error], [false, report!.error]);
      // GAAP has no failed state: the listener reads 1 (creating), not 0, while it is not up.
      const k = await gw.api('POST', `/v1/tenants/${gw.tenantId}/keys`);
      const sdk = new Client({
        credential: { secretId: k.body.secretId, secretKey: k.body.secretKey }, region: 'ap-guangzhou',
        profile: { httpProfile: { protocol: 'http://', endpoint: gw.adminUrl.replace('http://', ''), reqTimeout: 10 } },
      });
      const listed = await sdk.DescribeTCPListeners({ ListenerId: l.id });
      assert.equal(listed.ListenerSet[0].ListenerStatus, 1);
      // The other listeners of the node still serve.
      const t = await listenerTo([{ origin: origins[0]! }]);
      assert.equal(await firstLine(t.host, t.port), 'a');
    } finally { await new Promise((r) => squatter.close(r)); }
  });
});
