// HTTP/1.1 behaviour of the proxy listener: raw client bytes in, raw member bytes out.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createNetServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { echo, members, startBackend, type Backend } from '../helpers/backends.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { openRaw, until, type RawClient } from '../helpers/raw-client.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A member speaking raw TCP: `onConn` gets each accepted socket. */
async function rawMember(onConn: (s: Socket) => void): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const socks = new Set<Socket>();
  const server = createNetServer((s) => { socks.add(s); s.on('close', () => socks.delete(s)); s.on('error', () => {}); onConn(s); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    server, port: (server.address() as AddressInfo).port,
    async close() { for (const s of socks) s.destroy(); await new Promise((r) => server.close(r)); },
  };
}

/** The answers in `text`, split by their framing (Content-Length or chunked): [head, body] each; a chunked one not complete yet is left out. */
function answers(text: string): { head: string; body: string }[] {
  const out: { head: string; body: string }[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.slice(0, end);
    rest = rest.slice(end + 4);
    const lower = head.toLowerCase();
    const cl = /\r\ncontent-length: *(\d+)/.exec(lower);
    if (cl) { out.push({ head, body: rest.slice(0, Number(cl[1])) }); rest = rest.slice(Number(cl[1])); continue; }
    if (/\r\ntransfer-encoding: *chunked/.test(lower)) {
      let body = '';
      for (;;) {
        const nl = rest.indexOf('\r\n');
        if (nl < 0) return out;
        const size = parseInt(rest.slice(0, nl), 16);
        rest = rest.slice(nl + 2);
        if (size === 0) {
          const end = rest.indexOf('\r\n');
          if (end < 0) return out;
          rest = rest.slice(end + 2);
          break;
        }
        if (rest.length < size + 2) return out;
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
      out.push({ head, body });
      continue;
    }
    out.push({ head, body: rest });
    rest = '';
  }
  return out;
}

describe('HTTP/1.1 on the proxy listener', () => {
  let gw: TestGateway;
  let port: number;
  const open: { close(): Promise<void> }[] = [];
  const clients: RawClient[] = [];

  before(async () => {
    gw = await startTestGateway();
    port = gw.sluice.proxyPort;
  });
  after(async () => {
    for (const c of clients) c.s.destroy();
    await gw.close();
    await Promise.all(open.map((b) => b.close()));
  });

  async function client(): Promise<RawClient> {
    const c = await openRaw(port);
    clients.push(c);
    return c;
  }

  async function echoRoute(host: string): Promise<Backend> {
    const b = await startBackend(host, echo);
    open.push(b);
    await gw.expose({ members: members([b]) }, { hosts: [host] });
    return b;
  }

  test('pipelining: three requests in one write are answered in order on one connection', async () => {
    await echoRoute('pipe.test');
    const c = await client();
    c.s.write('GET /1 HTTP/1.1\r\nhost: pipe.test\r\n\r\nPOST /2 HTTP/1.1\r\nhost: pipe.test\r\ncontent-length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nhost: pipe.test\r\n\r\n');
    assert.ok(await until(() => answers(c.text).length === 3, 3000), c.text);
    const urls = answers(c.text).map((a) => JSON.parse(a.body).url);
    assert.deepEqual(urls, ['/1', '/2', '/3']);
    assert.equal(JSON.parse(answers(c.text)[1]!.body).bodyBytes, 3);
    assert.equal(c.closedAt, null, 'kept alive');
  });

  test('heads in pieces: two pipelined requests sent a byte per packet, and a head split at every position, are answered as if sent whole', async () => {
    await echoRoute('bytes.test');
    const fields = Array.from({ length: 40 }, (_, i) => `x-f${i}: ${'v'.repeat(i * 7)}\r\n`).join('');
    const one = `GET /first HTTP/1.1\r\nhost: bytes.test\r\n${fields}\r\n`;
    const two = `POST /second HTTP/1.1\r\nhost: bytes.test\r\ncontent-length: 5\r\n${fields}\r\nhello`;
    const c = await client();
    c.s.setNoDelay(true);
    const all = Buffer.from(one + two, 'latin1');
    for (let i = 0; i < all.length; i++) {
      c.s.write(all.subarray(i, i + 1));
      // Now and then a turn of the loop, so that the bytes go in many packets.
      if (i % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    assert.ok(await until(() => answers(c.text).length === 2, 10_000), c.text.slice(0, 300));
    const seen = answers(c.text).map((a) => JSON.parse(a.body) as { url: string; bodyBytes: number; headers: Record<string, string> });
    assert.deepEqual(seen.map((e) => e.url), ['/first', '/second']);
    assert.equal(seen[1]!.bodyBytes, 5);
    assert.equal(seen[0]!.headers['x-f39'], 'v'.repeat(39 * 7), 'the last field came through whole');
    assert.equal(c.closedAt, null, 'kept alive');

    // Split once, at every position of a head: the same answer each time.
    const head = Buffer.from('GET /split?q=1 HTTP/1.1\r\nhost: bytes.test\r\nx-a: 1\r\n\r\n', 'latin1');
    for (let at = 1; at < head.length; at++) {
      const s = await client();
      s.s.setNoDelay(true);
      s.s.write(head.subarray(0, at));
      await new Promise((r) => setTimeout(r, 2));
      s.s.write(head.subarray(at));
      assert.ok(await until(() => answers(s.text).length === 1, 3000), `split at ${at}: ${s.text}`);
      assert.equal((JSON.parse(answers(s.text)[0]!.body) as { url: string }).url, '/split?q=1', `split at ${at}`);
      s.s.destroy();
    }
  });

  test('a client that pipelines requests and reads nothing is sent no more than it takes: the member sees a few of them, and all are answered in order once it reads', async () => {
    const N = 600;
    const SIZE = 60_000;
    let seen = 0;
    const b = await startBackend('lazy.test', (req, res) => {
      seen++;
      res.writeHead(200, { 'content-length': SIZE, 'x-url': req.url ?? '' });
      res.end(Buffer.alloc(SIZE, 97));
    });
    open.push(b);
    await gw.expose({ members: members([b]) }, { hosts: ['lazy.test'] });
    const s = connect(port, '127.0.0.1');
    await once(s, 'connect');
    s.pause();
    s.write(Array.from({ length: N }, (_, i) => `GET /${i} HTTP/1.1\r\nhost: lazy.test\r\n\r\n`).join(''));
    // Until the count settles: the kernel's buffers take some answers, the gateway one more.
    let last = -1;
    for (let i = 0; i < 100 && seen !== last; i++) { last = seen; await sleep(200); }
    assert.ok(seen < N / 4, `the member saw ${seen} of ${N} requests while the client read nothing`);

    let got = 0;
    let text = '';
    const urls: string[] = [];
    s.on('data', (d: Buffer) => {
      got += d.length;
      text += d.toString('latin1');
      // Only the heads are kept (the bodies are counted).
      let at: number;
      while ((at = text.indexOf('\r\n\r\n')) >= 0 && text.length >= at + 4 + SIZE) {
        urls.push(/x-url: ([^\r]*)/i.exec(text.slice(0, at))?.[1] ?? '?');
        text = text.slice(at + 4 + SIZE);
      }
    });
    s.resume();
    assert.ok(await until(() => urls.length === N, 20_000), `${urls.length} of ${N} answers (${got} bytes)`);
    assert.deepEqual(urls, Array.from({ length: N }, (_, i) => `/${i}`));
    assert.equal(seen, N);
    s.destroy();
  });

  test('request-target forms: absolute-form routes on its authority over Host and goes upstream in origin-form; userinfo, authority-form and a bare * are refused', async () => {
    await echoRoute('abs.test');
    const c = await client();
    // The authority overrides a Host naming another site (RFC 9112 3.2.2): routed to abs.test, sent as /p?q=1 with that Host.
    c.s.write('GET http://ABS.test:80/p?q=1 HTTP/1.1\r\nhost: elsewhere.test\r\n\r\n');
    assert.ok(await until(() => answers(c.text).length === 1, 3000), c.text);
    const [a] = answers(c.text);
    assert.match(a!.head, /^HTTP\/1\.1 200/);
    const seen = JSON.parse(a!.body) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/p?q=1');
    assert.equal(seen.headers.host, 'ABS.test:80');
    // ...and a Host naming the routed site cannot pull an absolute-form request for another one onto it.
    c.s.write('GET http://other.test/p HTTP/1.1\r\nhost: abs.test\r\n\r\n');
    assert.ok(await until(() => answers(c.text).length === 2, 3000), c.text);
    assert.match(answers(c.text)[1]!.head, /^HTTP\/1\.1 404/);
    for (const bad of ['GET http://u:p@abs.test/ HTTP/1.1\r\nhost: abs.test\r\n\r\n', 'CONNECT abs.test:443 HTTP/1.1\r\nhost: abs.test:443\r\n\r\n',
      'GET * HTTP/1.1\r\nhost: abs.test\r\n\r\n', 'GET ftp://abs.test/ HTTP/1.1\r\nhost: abs.test\r\n\r\n']) {
      const r = await client();
      r.s.write(bad);
      assert.ok(await until(() => r.closedAt !== null, 3000), `closed after ${JSON.stringify(bad)}`);
      assert.match(r.text, /^HTTP\/1\.1 (400|501) /, JSON.stringify(bad));
    }
  });

  test('chunked both ways, split over packets: the request body arrives whole, the chunked answer is passed on chunked', async () => {
    const b = await startBackend('chunky', (req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => { body += d.toString(); });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.flushHeaders();
        // Pieces in separate packets, so that the gateway sees the framing split.
        let i = 0;
        const next = (): void => {
          if (i === body.length) { res.end(); return; }
          res.write(body[i++]!);
          setTimeout(next, 5);
        };
        next();
      });
    });
    open.push(b);
    await gw.expose({ members: members([b]) }, { hosts: ['chunked.test'] });
    const c = await client();
    const parts = ['POST / HTTP/1.1\r\nhost: chunked.test\r\ntransfer-encoding: chunked\r\n\r\n5\r', '\nhel', 'lo\r\n6;ext=1\r\n, worl\r\n', '1\r\nd', '\r\n0\r\n', '\r\n'];
    for (const p of parts) { c.s.write(p); await sleep(20); }
    assert.ok(await until(() => c.text.endsWith('0\r\n\r\n'), 3000), c.text);
    const [a] = answers(c.text);
    assert.match(a!.head.toLowerCase(), /transfer-encoding: chunked/);
    assert.equal(a!.body, 'hello, world');
    c.s.write('GET / HTTP/1.1\r\nhost: chunked.test\r\ncontent-length: 0\r\n\r\n');
    assert.ok(await until(() => answers(c.text).length === 2, 3000), 'the connection serves the next request');
  });

  test('a close-delimited answer (no Content-Length, no chunked): chunked to an HTTP/1.1 client, its connection kept; close-delimited to HTTP/1.0; a member reset gets no last chunk', async () => {
    // Each member connection answers once, close-delimited: the first part at once, the rest
    // (and the close, or a reset for /reset) when the test says, so that each part is one read.
    const parts: Socket[] = [];
    const m = await rawMember((s) => {
      s.once('data', () => {
        s.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nfirst part, ');
        parts.push(s);
      });
    });
    open.push(m);
    await gw.expose({ members: [{ host: '127.0.0.1', port: m.port }] }, { hosts: ['eof.test'] });
    /** Once `c` has its `n`th first part, the member sends the rest (or resets). */
    const rest = async (c: RawClient, how: 'end' | 'reset', n = 1): Promise<void> => {
      assert.ok(await until(() => c.text.split('first part, ').length > n && parts.length > 0, 3000), c.text);
      const s = parts.shift()!;
      if (how === 'end') s.end('last part');
      else s.resetAndDestroy();
    };

    const c = await client();
    c.s.write('GET /a HTTP/1.1\r\nhost: eof.test\r\n\r\n');
    await rest(c, 'end');
    assert.ok(await until(() => c.text.endsWith('0\r\n\r\n'), 3000), c.text);
    const [a] = answers(c.text);
    assert.match(a!.head, /^HTTP\/1.1 200 /);
    assert.match(a!.head.toLowerCase(), /\r\ntransfer-encoding: chunked(\r\n|$)/);
    assert.match(a!.head.toLowerCase(), /\r\nconnection: keep-alive(\r\n|$)/);
    assert.ok(!/content-length/i.test(a!.head), a!.head);
    assert.ok(c.text.endsWith('\r\n\r\nc\r\nfirst part, \r\n9\r\nlast part\r\n0\r\n\r\n'), `one chunk per member read, then the last chunk: ${c.text}`);
    assert.equal(a!.body, 'first part, last part');
    // The client connection stays open and serves the next request.
    c.s.write('GET /b HTTP/1.1\r\nhost: eof.test\r\n\r\n');
    await rest(c, 'end', 2);
    assert.ok(await until(() => answers(c.text).length === 2 && c.text.endsWith('0\r\n\r\n'), 3000), c.text);
    assert.equal(answers(c.text)[1]!.body, 'first part, last part');
    assert.equal(c.closedAt, null, 'kept alive after a re-chunked answer');

    // HTTP/1.0 cannot take chunked: close-delimited, and closed, even when it asked for keep-alive.
    const old = await client();
    old.s.write('GET /c HTTP/1.0\r\nhost: eof.test\r\nconnection: keep-alive\r\n\r\n');
    await rest(old, 'end');
    assert.ok(await until(() => old.closedAt !== null, 3000), 'a 1.0 client: closed to end the answer');
    assert.ok(!/transfer-encoding/i.test(old.text), old.text);
    assert.match(old.text, /^HTTP\/1.1 200 /);
    assert.ok(old.text.endsWith('\r\n\r\nfirst part, last part'), old.text);

    // A member that resets mid-answer: the client is cut without the last chunk, so it knows.
    const cut = await client();
    cut.s.write('GET /reset HTTP/1.1\r\nhost: eof.test\r\n\r\n');
    await rest(cut, 'reset');
    assert.ok(await until(() => cut.closedAt !== null, 3000), 'the client connection is cut');
    assert.match(cut.text, /^HTTP\/1.1 200 /);
    assert.ok(!cut.text.endsWith('0\r\n\r\n'), cut.text);
  });

  test('an answer without a Date gets one (RFC 9110 6.6.1); a member\'s own Date goes through as it is, alone', async () => {
    const m = await rawMember((s) => {
      s.on('data', (d: Buffer) => {
        const own = d.toString('latin1').startsWith('GET /own ');
        s.write(`HTTP/1.1 200 OK\r\n${own ? 'date: Sun, 06 Nov 1994 08:49:37 GMT\r\n' : ''}content-length: 2\r\n\r\nok`);
      });
    });
    open.push(m);
    await gw.expose({ members: [{ host: '127.0.0.1', port: m.port }] }, { hosts: ['date.test'] });
    const c = await client();
    c.s.write('GET /none HTTP/1.1\r\nhost: date.test\r\n\r\nGET /own HTTP/1.1\r\nhost: date.test\r\n\r\n');
    assert.ok(await until(() => answers(c.text).length === 2, 3000), c.text);
    const [added, own] = answers(c.text).map((a) => a.head.split('\r\n').filter((l) => /^date:/i.test(l)));
    assert.equal(added!.length, 1, c.text);
    const value = added![0]!.replace(/^date: */i, '');
    assert.match(value, /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/);
    assert.ok(Math.abs(Date.parse(value) - Date.now()) < 60_000, `a Date of now, not ${value}`);
    assert.deepEqual(own!.map((l) => l.replace(/^date: */i, '')), ['Sun, 06 Nov 1994 08:49:37 GMT'], c.text);
  });

  test('one kept-alive connection, each routing key changed in turn: Host, its case and port, method and target each route afresh', async () => {
    const a = await startBackend('keys-a', echo);
    const b = await startBackend('keys-b', echo);
    const c2 = await startBackend('keys-c', echo);
    open.push(a, b, c2);
    await gw.expose({ members: members([a]) }, { hosts: ['keys-a.test'] });
    await gw.expose({ members: members([b]) }, { hosts: ['keys-b.test'] });
    await gw.expose({ members: members([c2]) }, { hosts: ['keys-a.test'], paths: ['/post-only'], methods: ['POST'] });
    const c = await client();
    let n = 0;
    const ask = async (line: string, host: string): Promise<{ head: string; body: string }> => {
      c.s.write(`${line} HTTP/1.1\r\nhost: ${host}\r\ncontent-length: 0\r\n\r\n`);
      n++;
      assert.ok(await until(() => answers(c.text).length === n, 3000), c.text);
      return answers(c.text)[n - 1]!;
    };
    const to = async (line: string, host: string): Promise<string> => JSON.parse((await ask(line, host)).body).name;
    assert.equal(await to('GET /x', 'keys-a.test'), 'keys-a');
    assert.equal(await to('GET /x', 'keys-b.test'), 'keys-b');
    assert.equal(await to('GET /x', 'KEYS-A.test:80'), 'keys-a');
    assert.equal(await to('GET /post-only', 'keys-a.test'), 'keys-a');
    assert.equal(await to('POST /post-only', 'keys-a.test'), 'keys-c');
    assert.equal(await to('GET /post-only', 'keys-a.test'), 'keys-a');
    assert.match((await ask('GET /x', 'nowhere.test')).head, /^HTTP\/1\.1 404/);
    assert.equal(await to('GET /x', 'keys-a.test'), 'keys-a');
    assert.equal(c.closedAt, null, 'one connection throughout');
  });

  test('the status line: an HTTP/1.1 member\'s goes as it came (reason included, or none), an HTTP/1.0 member\'s is sent as HTTP/1.1', async () => {
    const m = await rawMember((s) => {
      s.on('data', (d: Buffer) => {
        const path = / (\/\S*) /.exec(d.toString('latin1'))![1];
        const line = path === '/old' ? 'HTTP/1.0 203 Old Reason' : path === '/bare' ? 'HTTP/1.1 299' : 'HTTP/1.1 299 Custom  Reason';
        const keep = path === '/old' ? 'connection: keep-alive\r\n' : '';
        s.write(`${line}\r\nx-a: 1\r\n${keep}content-length: 2\r\nx-b: 2\r\n\r\nok`);
      });
    });
    open.push(m);
    await gw.expose({ members: [{ host: '127.0.0.1', port: m.port }] }, { hosts: ['status.test'] });
    const c = await client();
    c.s.write('GET /new HTTP/1.1\r\nhost: status.test\r\n\r\nGET /bare HTTP/1.1\r\nhost: status.test\r\n\r\nGET /old HTTP/1.1\r\nhost: status.test\r\n\r\n');
    assert.ok(await until(() => answers(c.text).length === 3, 3000), c.text);
    const heads = answers(c.text).map((a) => a.head.split('\r\n'));
    assert.deepEqual(heads.map((h) => h[0]), ['HTTP/1.1 299 Custom  Reason', 'HTTP/1.1 299', 'HTTP/1.1 203 Old Reason']);
    for (const h of heads) {
      assert.deepEqual(h.slice(1, 4), ['x-a: 1', 'content-length: 2', 'x-b: 2'], h.join('|'));
      assert.equal(h.filter((l) => /^connection:/i.test(l)).length, 1, h.join('|'));
    }
    assert.ok(answers(c.text).every((a) => a.body === 'ok'));
  });

  test('a kept-alive connection repeating a request follows a route change: to the new upstream, then to 404 once the route is gone', async () => {
    const a = await startBackend('memo-a', echo);
    const b = await startBackend('memo-b', echo);
    open.push(a, b);
    await gw.expose({ members: members([a]) }, { hosts: ['memo.test'] });
    const route = (await gw.api('GET', '/v1/routes')).body.items.find((r: { hosts?: string[] }) => r.hosts?.includes('memo.test'));
    const c = await client();
    const ask = async (n: number): Promise<{ head: string; body: string }> => {
      c.s.write('GET /same HTTP/1.1\r\nhost: memo.test\r\n\r\n');
      assert.ok(await until(() => answers(c.text).length === n, 3000), c.text);
      return answers(c.text)[n - 1]!;
    };
    assert.equal(JSON.parse((await ask(1)).body).name, 'memo-a');
    assert.equal(JSON.parse((await ask(2)).body).name, 'memo-a');
    const other = await gw.api('POST', '/v1/upstreams', { tenantId: gw.tenantId, name: 'memo-b', members: members([b]) });
    assert.equal(other.status, 201);
    const id = route.id as string;
    assert.equal((await gw.api('PUT', `/v1/routes/${id}`, { upstreamId: other.body.id, hosts: ['memo.test'] })).status, 200);
    await gw.settled();
    assert.equal(JSON.parse((await ask(3)).body).name, 'memo-b');
    assert.equal((await gw.api('DELETE', `/v1/routes/${id}`)).status, 204);
    await gw.settled();
    assert.match((await ask(4)).head, /^HTTP\/1\.1 404/);
    assert.equal(c.closedAt, null, 'one connection throughout');
  });

  test('HTTP/1.0 clients: kept alive when they ask (Content-Length answers), closed when not, a chunked answer de-chunked for them', async () => {
    const sized = await startBackend('old', (req, res) => {
      const body = JSON.stringify({ url: req.url });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    open.push(sized);
    await gw.expose({ members: members([sized]) }, { hosts: ['old.test'] });
    const ka = await client();
    ka.s.write('GET /a HTTP/1.0\r\nhost: old.test\r\nconnection: keep-alive\r\n\r\n');
    assert.ok(await until(() => answers(ka.text).length === 1, 3000), ka.text);
    assert.match(answers(ka.text)[0]!.head.toLowerCase(), /connection: keep-alive/);
    ka.s.write('GET /b HTTP/1.0\r\nhost: old.test\r\nconnection: keep-alive\r\n\r\n');
    assert.ok(await until(() => answers(ka.text).length === 2, 3000), 'a second request on the kept connection');
    assert.equal(ka.closedAt, null);

    const once10 = await client();
    once10.s.write('GET /c HTTP/1.0\r\nhost: old.test\r\n\r\n');
    assert.ok(await until(() => once10.closedAt !== null, 3000), 'closed after the answer');
    assert.equal(JSON.parse(answers(once10.text)[0]!.body).url, '/c');

    const b = await startBackend('chunks10', (_req, res) => { res.write('abc'); setTimeout(() => res.end('def'), 20); });
    open.push(b);
    await gw.expose({ members: members([b]) }, { hosts: ['chunks10.test'] });
    const c = await client();
    c.s.write('GET / HTTP/1.0\r\nhost: chunks10.test\r\nconnection: keep-alive\r\n\r\n');
    assert.ok(await until(() => c.closedAt !== null, 3000), 'a 1.0 client gets the answer close-delimited');
    assert.ok(!/transfer-encoding/i.test(c.text), c.text);
    assert.ok(c.text.endsWith('\r\n\r\nabcdef'), c.text);
  });

  test('HEAD, 204 and 304 answers have no body, and the connection goes on', async () => {
    const b = await startBackend('nobody', (req, res) => {
      if (req.url === '/204') { res.writeHead(204); res.end(); return; }
      if (req.url === '/304') { res.writeHead(304, { etag: '"x"' }); res.end(); return; }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11' });
      res.end(req.method === 'HEAD' ? undefined : 'hello world');
    });
    open.push(b);
    await gw.expose({ members: members([b]) }, { hosts: ['nobody.test'] });
    const c = await client();
    c.s.write('HEAD / HTTP/1.1\r\nhost: nobody.test\r\n\r\n');
    assert.ok(await until(() => c.text.includes('\r\n\r\n'), 3000));
    c.s.write('GET /204 HTTP/1.1\r\nhost: nobody.test\r\n\r\n');
    assert.ok(await until(() => (c.text.match(/HTTP\/1.1 /g) ?? []).length === 2, 3000));
    c.s.write('GET /304 HTTP/1.1\r\nhost: nobody.test\r\n\r\n');
    assert.ok(await until(() => (c.text.match(/HTTP\/1.1 /g) ?? []).length === 3, 3000));
    c.s.write('GET / HTTP/1.1\r\nhost: nobody.test\r\n\r\n');
    assert.ok(await until(() => c.text.endsWith('hello world'), 3000), c.text);
    const heads = c.text.split(/HTTP\/1.1 /).slice(1);
    assert.match(heads[0]!, /^200 [^]*content-length: 11\r\n[^]*\r\n\r\n$/i, 'HEAD: the length said, no body sent');
    assert.match(heads[1]!, /^204 [^]*\r\n\r\n$/);
    assert.match(heads[2]!, /^304 [^]*\r\n\r\n$/);
    assert.equal(c.closedAt, null);
  });

  test('a slow reader of a large answer: the member is held back (what it could write stays bounded), then everything arrives', async () => {
    const TOTAL = 48 * 1024 * 1024;
    const CHUNK = 64 * 1024;
    let taken = 0;
    const m = await rawMember((s) => {
      s.once('data', () => {
        s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${TOTAL}\r\n\r\n`);
        const piece = Buffer.alloc(CHUNK, 0x61);
        // The next piece goes only once the kernel took the last: `taken` is what left the member.
        const next = (): void => {
          if (taken >= TOTAL) return;
          s.write(piece, () => { taken += CHUNK; next(); });
        };
        next();
      });
    });
    open.push(m);
    await gw.expose({ members: [{ host: '127.0.0.1', port: m.port }] }, { hosts: ['big.test'] });
    const c = connect(port, '127.0.0.1');
    await once(c, 'connect');
    c.pause();
    c.write('GET / HTTP/1.1\r\nhost: big.test\r\n\r\n');
    // The client reads nothing: the member stalls once the buffers on the way are full.
    let last = -1;
    for (let i = 0; i < 100 && taken !== last; i++) { last = taken; await sleep(100); }
    assert.equal(taken, last, 'the member stalled');
    assert.ok(taken < TOTAL / 2, `the member wrote ${taken} of ${TOTAL} bytes to a client that read none`);
    let got = 0;
    c.on('data', (d: Buffer) => { got += d.length; });
    c.resume();
    assert.ok(await until(() => got >= TOTAL, 20_000), `the client got ${got}`);
    c.destroy();
  });

  test('the route timeout is member inactivity: an answer trickling for longer in all passes whole (twice on one pooled connection), one that stops mid-body is cut, a head that never comes gets 504, and a client that reads slowly does not count', { timeout: 30_000 }, async () => {
    const BIG = 8 * 1024 * 1024;
    const m = await rawMember((s) => {
      let buf = '';
      s.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
          const path = buf.slice(0, end).split(' ')[1];
          buf = buf.slice(end + 4);
          if (path === '/trickle') {
            // 8 chunks 100 ms apart: 800 ms in all, never 300 ms without a byte.
            s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
            let n = 0;
            const next = (): void => {
              if (s.destroyed) return;
              if (n++ < 8) { s.write(`1\r\n${n}\r\n`); setTimeout(next, 100); } else s.write('0\r\n\r\n');
            };
            setTimeout(next, 100);
          } else if (path === '/stall') {
            s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nfirst ten.');
          } else if (path === '/big') {
            s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${BIG}\r\n\r\n`);
            s.write(Buffer.alloc(BIG, 0x62));
          }
          // '/silent' gets nothing.
        }
      });
    });
    open.push(m);
    await gw.expose({ members: [{ host: '127.0.0.1', port: m.port }], retries: 0 }, { hosts: ['idle.test'], timeoutMs: 300 });

    const c = await client();
    for (const round of [1, 2]) {
      c.s.write('GET /trickle HTTP/1.1\r\nhost: idle.test\r\n\r\n');
      assert.ok(await until(() => answers(c.text).length === round, 5000), `round ${round}: ${c.text}`);
      assert.equal(answers(c.text)[round - 1]!.body, '12345678');
    }
    assert.equal(c.closedAt, null, 'kept alive');

    const stall = await client();
    stall.s.write('GET /stall HTTP/1.1\r\nhost: idle.test\r\n\r\n');
    assert.ok(await until(() => stall.closedAt !== null, 5000), 'a client whose answer stopped mid-body is cut');
    assert.match(stall.text, /^HTTP\/1.1 200 /);
    assert.ok(stall.text.endsWith('\r\n\r\nfirst ten.'), stall.text);

    const silent = await client();
    silent.s.write('GET /silent HTTP/1.1\r\nhost: idle.test\r\n\r\n');
    assert.ok(await until(() => silent.text.includes('\r\n\r\n'), 5000), 'an answer');
    assert.match(silent.text, /^HTTP\/1.1 504 /);
    assert.match(silent.text, /\r\nx-sluice-error: upstream_timeout\r\n/);

    // The client takes nothing for three timeouts' worth: the member is held back, not timed out.
    const slow = connect(port, '127.0.0.1');
    await once(slow, 'connect');
    slow.pause();
    slow.write('GET /big HTTP/1.1\r\nhost: idle.test\r\n\r\n');
    await sleep(1000);
    let got = 0;
    let closed = false;
    slow.on('data', (d: Buffer) => { got += d.length; });
    slow.on('close', () => { closed = true; });
    slow.resume();
    assert.ok(await until(() => got > BIG || closed, 10_000), `the client got ${got}`);
    assert.ok(got > BIG, `the whole answer arrived (${got} bytes)`);
    assert.equal(closed, false, 'and the connection stayed');
    slow.destroy();
  });

  test('a slow member and a large upload: the client is held back, the member gets every byte', async () => {
    const TOTAL = 48 * 1024 * 1024;
    let memberSock: Socket | null = null;
    let received = 0;
    const m = await rawMember((s) => {
      memberSock = s;
      s.pause();
      s.on('data', (d: Buffer) => {
        received += d.length;
        if (received >= TOTAL) s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
      });
    });
    open.push(m);
    await gw.expose({ members: [{ host: '127.0.0.1', port: m.port }] }, { hosts: ['upload.test'] });
    const c = connect(port, '127.0.0.1');
    await once(c, 'connect');
    let text = '';
    c.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    c.write(`PUT / HTTP/1.1\r\nhost: upload.test\r\ncontent-length: ${TOTAL}\r\n\r\n`);
    const piece = Buffer.alloc(64 * 1024, 0x62);
    let sent = 0;
    const next = (): void => {
      if (sent >= TOTAL) return;
      c.write(piece, () => { sent += piece.length; next(); });
    };
    next();
    assert.ok(await until(() => memberSock !== null, 3000), 'the member got the connection');
    let last = -1;
    for (let i = 0; i < 100 && sent !== last; i++) { last = sent; await sleep(100); }
    assert.equal(sent, last, 'the client stalled');
    assert.ok(sent < TOTAL / 2, `the client wrote ${sent} of ${TOTAL} bytes to a member that read none`);
    memberSock!.resume();
    assert.ok(await until(() => text.includes('\r\n\r\nok'), 20_000), `answer: ${text.slice(0, 200)}`);
    assert.equal(received, TOTAL + (received - TOTAL), 'every byte reached the member');
    assert.ok(received >= TOTAL);
    c.destroy();
  });

  test('a stale pooled connection (the member drops it as the next request arrives): a GET is answered, a POST that reached the member is not sent twice', async () => {
    const seen: string[] = [];
    // Answers the first request on each connection, keeping it alive; drops the connection on the next.
    const m = await rawMember((s) => {
      let n = 0;
      s.on('data', (d: Buffer) => {
        const line = d.toString('latin1').split('\r\n')[0]!;
        seen.push(line);
        if (++n > 1) { s.destroy(); return; }
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst');
      });
    });
    const spare = await startBackend('spare', echo);
    open.push(m, spare);
    await gw.expose({ members: [{ host: '127.0.0.1', port: m.port }, { host: '127.0.0.1', port: spare.port, backup: true }], retries: 1 }, { hosts: ['stale.test'] });
    const c = await client();
    c.s.write('GET /warm HTTP/1.1\r\nhost: stale.test\r\n\r\n');
    assert.ok(await until(() => c.text.endsWith('first'), 3000), c.text);
    c.s.write('GET /again HTTP/1.1\r\nhost: stale.test\r\n\r\n');
    assert.ok(await until(() => answers(c.text).length === 2, 3000), c.text);
    assert.match(answers(c.text)[1]!.head, /^HTTP\/1.1 200 /, 'the GET was answered');

    const p = await client();
    p.s.write('GET /warm HTTP/1.1\r\nhost: stale.test\r\n\r\n');
    assert.ok(await until(() => answers(p.text).length === 1, 3000), p.text);
    seen.length = 0;
    spare.hits = 0;
    // The pool holds a connection that served one request: the POST goes on it and is dropped.
    p.s.write('POST /once HTTP/1.1\r\nhost: stale.test\r\ncontent-length: 3\r\n\r\nabc');
    assert.ok(await until(() => answers(p.text).length === 2, 3000), p.text);
    const post = answers(p.text)[1]!;
    assert.match(post.head, /^HTTP\/1.1 502 /);
    assert.match(post.head, /x-sluice-error: upstream_reset/);
    assert.deepEqual(seen.filter((l) => l.startsWith('POST')), ['POST /once HTTP/1.1'], 'the member saw the POST once');
    assert.equal(spare.hits, 0, 'and it went nowhere else');
  });
});
