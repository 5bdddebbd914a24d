import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { openRaw as open, until, type RawClient as Client } from '../helpers/raw-client.js';
import { echo, startBackend } from '../helpers/backends.js';
import { startSluiceProcess } from '../helpers/cli.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));



const head = (c: Client): string => c.text.slice(0, Math.max(0, c.text.indexOf('\r\n\r\n'))).toLowerCase();

/**
 * A real `sluice start` with a 20 s grace, SIGTERM while: one keep-alive connection is idle,
 * one has sent nothing yet, one is in the middle of its request head, one waits on a member that answers after 500 ms,
 * and one is receiving an answer whose headers (keep-alive) went out before the signal.
 */
async function drains(extraArgs: string[]): Promise<void> {
  const backend = await startBackend('drain', (req, res, name) => {
    if (req.url === '/slow') { setTimeout(() => echo(req, res, name), 500); return; }
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.write('a');
      setTimeout(() => res.end('b'), 800);
      return;
    }
    echo(req, res, name);
  });
  const p = await startSluiceProcess(['--shutdown-grace', '20', ...extraArgs]);
  const clients: Client[] = [];
  try {
    const api = async (path: string, body: unknown) => {
      const res = await fetch(p.adminUrl + path, { method: 'POST', headers: { authorization: `Bearer ${p.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return (await res.json()) as { id: string };
    };
    const tenant = await api('/v1/tenants', { name: 'drain' });
    const u = await api('/v1/upstreams', { tenantId: tenant.id, name: 'drain', members: [{ host: '127.0.0.1', port: backend.port }] });
    await api('/v1/routes', { upstreamId: u.id, hosts: ['drain.test'] });
    const port = Number(new URL(p.proxyUrl).port);
    // Every worker serves the route before the clients start.
    for (let i = 0; i < 50; i++) {
      const c = await open(port);
      c.s.write('GET / HTTP/1.1\r\nhost: drain.test\r\nconnection: close\r\n\r\n');
      await until(() => c.closedAt !== null, 2000);
      if (!c.text.startsWith('HTTP/1.1 200') && i < 49) { await sleep(50); continue; }
      assert.match(c.text, /^HTTP\/1.1 200/);
      if (i >= 5) break;
    }

    const idle = await open(port);
    idle.s.write('GET / HTTP/1.1\r\nhost: drain.test\r\n\r\n');
    assert.ok(await until(() => idle.text.includes('"name"'), 3000), 'idle client served once');
    assert.match(head(idle), /connection: keep-alive/);
    // Connected, nothing sent yet: as idle as a kept-alive one.
    const silent = await open(port);
    const partial = await open(port);
    partial.s.write('GET / HTTP/1.1\r\nhost: drain.test\r\n');
    const slow = await open(port);
    slow.s.write('GET /slow HTTP/1.1\r\nhost: drain.test\r\n\r\n');
    const stream = await open(port);
    stream.s.write('GET /stream HTTP/1.1\r\nhost: drain.test\r\n\r\n');
    clients.push(idle, silent, partial, slow, stream);
    assert.ok(await until(() => stream.text.endsWith('\r\n\r\na'), 3000), 'streamed answer started');
    assert.match(head(stream), /connection: keep-alive/, 'its headers went out before the signal');
    await sleep(100);
    const idleText = idle.text;

    const signalled = Date.now();
    p.child.kill('SIGTERM');
    const exited = once(p.child, 'exit');
    await sleep(300);
    partial.s.write('\r\n');

    for (const [name, c] of [['idle', idle], ['silent', silent]] as const) {
      assert.ok(await until(() => c.closedAt !== null, 2000), `the ${name} connection is closed at once`);
      assert.ok(c.closedAt! - signalled < 2000, `${name} closed after ${c.closedAt! - signalled} ms`);
    }
    assert.equal(idle.text, idleText, 'the idle one got nothing more');
    assert.equal(silent.text, '');
    for (const [name, c] of [['slow', slow], ['partial', partial]] as const) {
      assert.ok(await until(() => c.closedAt !== null, 5000), `${name}: connection closed after its answer`);
      assert.match(c.text, /^HTTP\/1.1 200/, `${name}: ${c.text}`);
      assert.match(head(c), /connection: close/, `${name} says Connection: close`);
      assert.match(c.text, /"name":"drain"/, `${name}: whole answer`);
    }
    assert.ok(await until(() => stream.closedAt !== null, 5000), 'stream: connection closed after its answer');
    assert.ok(stream.text.endsWith('\r\n\r\nab'), `stream finished: ${JSON.stringify(stream.text.slice(-20))}`);

    const [code] = await exited;
    const took = Date.now() - signalled;
    assert.equal(code, 0);
    assert.ok(took < 10_000, `exited ${took} ms after SIGTERM, with a 20 s grace`);
  } finally {
    for (const c of clients) c.s.destroy();
    await p.cleanup();
    await backend.close();
  }
}

test('SIGTERM drains: idle connections close at once, in-flight answers finish with Connection: close, exit well before the grace', { timeout: 60_000 }, async () => {
  await drains([]);
});

test('--workers 2: SIGTERM drains the same way in every worker', { timeout: 60_000 }, async () => {
  await drains(['--workers', '2']);
});
