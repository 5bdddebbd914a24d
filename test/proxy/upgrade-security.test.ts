import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { members, startBackend, type Backend, type Echo } from '../helpers/backends.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const acceptFor = (key: string): string => createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');

interface Raw { text: string; status: number; headers: Record<string, string>; body: string; closed: boolean }

/**
 * Writes exact bytes on a fresh connection and reads until the server closes it (or 3 s
 * pass). `then` runs once the first response head is in, for bytes sent after it; `later`
 * is written 100 ms after the first bytes.
 */
async function raw(port: number, bytes: string, then?: (s: Socket) => void, later?: string): Promise<Raw> {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  let text = '';
  let closed = false;
  let thenDone = false;
  s.on('data', (d: Buffer) => {
    text += d.toString('latin1');
    if (then && !thenDone && text.includes('\r\n\r\n')) { thenDone = true; then(s); }
  });
  s.on('error', () => {});
  s.once('close', () => { closed = true; });
  s.write(bytes);
  if (later !== undefined) { await new Promise((r) => setTimeout(r, 100)); s.write(later); }
  for (let i = 0; i < 300 && !closed; i++) await new Promise((r) => setTimeout(r, 10));
  s.destroy();
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const c = l.indexOf(':');
    if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
  }
  let body = end < 0 ? '' : text.slice(end + 4);
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  return { text, status: Number(statusLine.split(' ')[1] ?? 0), headers, body, closed };
}

function dechunk(s: string): string {
  let out = '';
  for (let i = 0; i < 100; i++) {
    const eol = s.indexOf('\r\n');
    const n = parseInt(s.slice(0, eol), 16);
    if (!(n > 0)) break;
    out += s.slice(eol + 2, eol + 2 + n);
    s = s.slice(eol + 4 + n);
  }
  return out;
}

describe('upgrades and Host through a real gateway', () => {
  let gw: TestGateway;
  let port: number;
  const open: Backend[] = [];

  before(async () => {
    gw = await startTestGateway();
    port = Number(new URL(gw.proxyUrl).port);
  });
  after(async () => {
    await gw.close();
    await Promise.all(open.map((b) => b.close()));
  });

  /**
   * A member that serves /public with the echo handler and agrees to every upgrade, then
   * serves whatever comes through the tunnel, /private included (no route exposes it).
   */
  async function eagerMember(name: string, answer101: (req: { headers: Record<string, string | string[] | undefined> }) => string) {
    const seen = { upgrades: 0, tunnelBytes: '', sockets: [] as Socket[], memberClosed: 0 };
    const b = await startBackend(name);
    b.server.on('upgrade', (req, socket: Socket) => {
      seen.upgrades++;
      seen.sockets.push(socket);
      socket.write(answer101(req));
      socket.on('data', (d: Buffer) => { seen.tunnelBytes += d.toString('latin1'); socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\nprivate`); });
      socket.on('error', () => {});
      // The gateway's end of it going away (FIN or reset).
      let gone = false;
      const onGone = () => { if (!gone) { gone = true; seen.memberClosed++; } };
      socket.once('end', onGone);
      socket.once('close', onGone);
    });
    open.push(b);
    return { b, seen };
  }

  test('a non-WebSocket upgrade (h2c, tls/1.0, foo, several tokens, websocket on POST) is served as a plain request and opens no tunnel', async () => {
    const { b, seen } = await eagerMember('h2c', () => 'HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\nconnection: Upgrade\r\n\r\n');
    const urls: string[] = [];
    b.server.on('request', (req) => urls.push(req.url!));
    await gw.expose({ members: members([b]) }, { hosts: ['h2c.test'], paths: ['/public'] });
    const variants: [string, string][] = [
      ['GET', 'upgrade: h2c\r\nconnection: Upgrade, HTTP2-Settings\r\nhttp2-settings: AAMAAABkAARAAAAAAAIAAAAA\r\n'],
      ['GET', 'Upgrade: H2C\r\nConnection: upgrade\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n'],
      ['GET', 'upgrade: tls/1.0\r\nconnection: Upgrade\r\n'],
      ['GET', 'upgrade: foo\r\nconnection: upgrade\r\n'],
      ['GET', `upgrade: websocket, h2c\r\nconnection: Upgrade\r\nsec-websocket-key: ${KEY}\r\nsec-websocket-version: 13\r\n`],
      ['POST', `upgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: ${KEY}\r\nsec-websocket-version: 13\r\ncontent-length: 0\r\n`],
      // No `Connection: upgrade`: Node's ordinary request path, where the same headers are dropped.
      ['GET', 'upgrade: h2c\r\nhttp2-settings: AAMAAABkAARAAAAAAAIAAAAA\r\nconnection: keep-alive\r\n'],
    ];
    for (const [method, extra] of variants) {
      urls.length = 0;
      // A second request right behind the first: through a tunnel it would reach /private.
      const smuggled = 'GET /private HTTP/1.1\r\nhost: h2c.test\r\n\r\n';
      const r = await raw(port, `${method} /public/x HTTP/1.1\r\nhost: h2c.test\r\n${extra}\r\n${smuggled}`, (s) => s.write(smuggled));
      assert.equal(r.status, 200, `${extra}: ${r.text}`);
      const echo = JSON.parse(r.body) as Echo;
      assert.equal(echo.url, '/public/x');
      assert.equal(echo.method, method);
      assert.equal(echo.headers.upgrade, undefined, `${extra}: member saw Upgrade`);
      assert.equal(echo.headers['http2-settings'], undefined, `${extra}: member saw HTTP2-Settings`);
      assert.doesNotMatch(String(echo.headers.connection ?? ''), /upgrade|http2-settings/i);
      // What the member's tunnel would answer; a 404 for /private from the gateway is fine.
      assert.doesNotMatch(r.text, /\r\n\r\nprivate/);
      assert.ok(!urls.includes('/private'), `${extra}: /private reached the member`);
      if (extra.includes('keep-alive')) continue;
      assert.equal(r.headers.connection, 'close', `${extra}: the answer closes the connection`);
      assert.ok(r.closed, `${extra}: the server closed the connection`);
    }
    assert.equal(seen.upgrades, 0, 'the member was never asked to upgrade');
    assert.equal(seen.tunnelBytes, '');
  });

  test('a non-WebSocket upgrade with a body: a small Content-Length one is served with its body, chunked or large is refused with 400, never tunnelled', async () => {
    const { b, seen } = await eagerMember('h2c-body', () => 'HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\nconnection: Upgrade\r\n\r\n');
    await gw.expose({ members: members([b]) }, { hosts: ['h2c-body.test'] });
    const h2c = 'upgrade: h2c\r\nconnection: Upgrade, HTTP2-Settings\r\nhttp2-settings: AAMAAABkAARAAAAAAAIAAAAA\r\n';
    // What curl --http2 -d sends: the body right behind the head, or in a later packet.
    const served = await raw(port, `POST /form HTTP/1.1\r\nhost: h2c-body.test\r\n${h2c}content-length: 5\r\n\r\nhello`);
    const split = await raw(port, `PUT /form HTTP/1.1\r\nhost: h2c-body.test\r\n${h2c}content-length: 10\r\n\r\nhel`, undefined, 'lo, world');
    for (const [r, bytes] of [[served, 5], [split, 10]] as const) {
      assert.equal(r.status, 200, r.text);
      const echo = JSON.parse(r.body) as Echo;
      assert.equal(echo.bodyBytes, bytes);
      assert.equal(echo.headers.upgrade, undefined);
      assert.equal(echo.headers['http2-settings'], undefined);
      assert.ok(r.closed);
    }
    for (const [framing, field] of [
      ['transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', 'Transfer-Encoding'],
      [`content-length: ${70 * 1024}\r\n\r\nxx`, 'Content-Length'],
    ]) {
      const r = await raw(port, `POST / HTTP/1.1\r\nhost: h2c-body.test\r\n${h2c}${framing}`);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.headers['x-sluice-error'], 'bad_request');
      assert.ok((JSON.parse(r.body) as { message: string }).message.includes(field), r.body);
      assert.ok(r.closed);
    }
    assert.equal(seen.upgrades, 0);
    assert.equal(b.hits, 2);
  });

  test('a member whose 101 does not complete the WebSocket handshake: 502 upstream_bad_upgrade, no tunnel, member connection closed; a right one passes', async () => {
    const wrongs: [string, (req: { headers: Record<string, string | string[] | undefined> }) => string][] = [
      ['no accept', () => 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n'],
      ['wrong accept', () => `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${acceptFor('AAAAAAAAAAAAAAAAAAAAAA==')}\r\n\r\n`],
      ['accept of the key itself', (req) => `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${String(req.headers['sec-websocket-key'])}\r\n\r\n`],
      ['right accept, other protocol', (req) => `HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\nconnection: Upgrade\r\nsec-websocket-accept: ${acceptFor(String(req.headers['sec-websocket-key']))}\r\n\r\n`],
    ];
    for (const [what, answer] of wrongs) {
      const { b, seen } = await eagerMember(`bad-${what}`, answer);
      const host = `bad-${wrongs.findIndex((w) => w[0] === what)}.test`;
      await gw.expose({ members: members([b]) }, { hosts: [host] });
      const r = await raw(port, `GET /chat HTTP/1.1\r\nhost: ${host}\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: ${KEY}\r\nsec-websocket-version: 13\r\n\r\n`,
        (s) => s.write('GET /private HTTP/1.1\r\nhost: x\r\n\r\n'));
      assert.equal(r.status, 502, `${what}: ${r.text}`);
      assert.equal(r.headers['x-sluice-error'], 'upstream_bad_upgrade', what);
      assert.ok(r.closed, `${what}: client connection closed`);
      assert.doesNotMatch(r.text, /private/);
      assert.equal(seen.upgrades, 1, what);
      for (let i = 0; i < 100 && seen.memberClosed === 0; i++) await new Promise((res) => setTimeout(res, 10));
      assert.equal(seen.memberClosed, 1, `${what}: the gateway closed its member connection`);
      assert.equal(seen.tunnelBytes, '', `${what}: nothing reached the member through it`);
    }
    // The control: a 101 with the right accept is relayed, whatever the case of Upgrade.
    const key = Buffer.from('0123456789abcdef').toString('base64');
    const { b, seen } = await eagerMember('ws-ok', (req) => `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${acceptFor(String(req.headers['sec-websocket-key']))}\r\n\r\n`);
    await gw.expose({ members: members([b]) }, { hosts: ['ws-ok.test'] });
    for (const upgrade of ['websocket', 'WebSocket']) {
      const r = await raw(port, `GET /chat HTTP/1.1\r\nhost: ws-ok.test\r\nUpgrade: ${upgrade}\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        (s) => s.write('ping'));
      assert.equal(r.status, 101, r.text);
      assert.equal(r.headers['sec-websocket-accept'], acceptFor(key));
      assert.match(r.body, /private/, 'bytes go through the tunnel once the handshake is right');
    }
    assert.equal(seen.upgrades, 2);
  });

  test('a WebSocket upgrade without a valid Sec-WebSocket-Key or Version 13: 400 naming it, the member never asked', async () => {
    const { b, seen } = await eagerMember('ws-key', () => 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
    await gw.expose({ members: members([b]) }, { hosts: ['ws-key.test'] });
    const b64 = (n: number) => Buffer.alloc(n, 7).toString('base64');
    const variants: [string, string][] = [
      ['sec-websocket-version: 13\r\n', 'Sec-WebSocket-Key'],
      ['sec-websocket-key: abc\r\nsec-websocket-version: 13\r\n', 'Sec-WebSocket-Key'],
      [`sec-websocket-key: ${b64(15)}\r\nsec-websocket-version: 13\r\n`, 'Sec-WebSocket-Key'],
      [`sec-websocket-key: ${b64(17)}\r\nsec-websocket-version: 13\r\n`, 'Sec-WebSocket-Key'],
      [`sec-websocket-key: ${KEY}\r\nsec-websocket-key: ${KEY}\r\nsec-websocket-version: 13\r\n`, 'Sec-WebSocket-Key'],
      [`sec-websocket-key: ${KEY}\r\n`, 'Sec-WebSocket-Version'],
      [`sec-websocket-key: ${KEY}\r\nsec-websocket-version: 8\r\n`, 'Sec-WebSocket-Version'],
    ];
    for (const [extra, field] of variants) {
      const r = await raw(port, `GET /chat HTTP/1.1\r\nhost: ws-key.test\r\nupgrade: websocket\r\nconnection: Upgrade\r\n${extra}\r\n`);
      assert.equal(r.status, 400, `${extra}: ${r.text}`);
      assert.equal(r.headers['x-sluice-error'], 'bad_request');
      assert.ok((JSON.parse(r.body) as { message: string }).message.includes(field), `${extra}: ${r.body}`);
    }
    assert.equal(seen.upgrades, 0);
  });

  test('two Host headers, any case, same or different values, on a request or an upgrade: 400', async () => {
    const { b, seen } = await eagerMember('hosts', () => 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
    await gw.expose({ members: members([b]) }, { hosts: ['one.test'] });
    const ws = `upgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: ${KEY}\r\nsec-websocket-version: 13\r\n`;
    const variants = [
      'Host: one.test\r\nhost: one.test\r\n',
      'host: one.test\r\nhost: other.test\r\n',
      'HOST: one.test\r\nHost: one.test\r\n',
      'host: one.test\r\nx-a: 1\r\nhOsT: one.test\r\n',
      `Host: one.test\r\nhost: other.test\r\n${ws}`,
      'Host: one.test\r\nhost: other.test\r\nupgrade: h2c\r\nconnection: Upgrade\r\n',
    ];
    for (const hosts of variants) {
      const r = await raw(port, `GET / HTTP/1.1\r\n${hosts}\r\n`);
      assert.equal(r.status, 400, `${hosts}: ${r.text}`);
      assert.equal(r.headers['x-sluice-error'], 'bad_request');
      assert.match(JSON.parse(r.body).message, /Host/);
      assert.ok(r.closed, 'connection closed after it');
    }
    assert.equal(b.hits, 0);
    assert.equal(seen.upgrades, 0);
    // One Host (and an unrelated 4-letter header) still goes through.
    const ok = await raw(port, 'GET / HTTP/1.1\r\nhost: one.test\r\nvary: x\r\nconnection: close\r\n\r\n');
    assert.equal(ok.status, 200);
  });
});
