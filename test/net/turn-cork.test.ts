import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { batched, flushNow } from '../../src/net/turn-cork.js';

/** A loopback server that keeps what each connection sent; `pair()` gives a connected client socket and the server's record of it. */
async function sink(): Promise<{ server: Server; close(): void; pair(): Promise<{ sock: Socket; got: () => string; closed: Promise<unknown> }> }> {
  const accepted: Array<(s: Socket) => void> = [];
  const all: Socket[] = [];
  const server = createServer((s) => { all.push(s); accepted.shift()!(s); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    server,
    close() { for (const s of all) s.destroy(); server.close(); },
    async pair() {
      const far = new Promise<Socket>((r) => accepted.push(r));
      const sock = connect(port, '127.0.0.1');
      all.push(sock);
      await once(sock, 'connect');
      const s = await far;
      let text = '';
      s.on('data', (d: Buffer) => { text += d.toString('latin1'); });
      return { sock, got: () => text, closed: once(s, 'close') };
    },
  };
}

async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('batched writes to several sockets are held until the turn ends, then all arrive in order', async () => {
  const k = await sink();
  try {
    const a = await k.pair(), b = await k.pair();
    batched(a.sock).write('a1 ');
    batched(b.sock).write('b1 ');
    a.sock.write('a2 '); // not batched: queues behind a1
    batched(a.sock).write('a3');
    assert.equal(a.sock.writableLength, 8, 'a holds its three writes for the turn');
    assert.equal(b.sock.writableLength, 3);
    await new Promise((r) => setImmediate(r));
    assert.equal(a.sock.writableLength, 0, 'the turn ended: a handed everything to the kernel');
    assert.equal(b.sock.writableLength, 0);
    await until(() => a.got() === 'a1 a2 a3' && b.got() === 'b1 ');
    a.sock.destroy(); b.sock.destroy();
  } finally { k.close(); }
});

test('flushNow hands a batched socket\'s bytes over at once, and bytes flushed before a destroy still arrive', async () => {
  const k = await sink();
  try {
    const a = await k.pair();
    batched(a.sock).write('head ');
    a.sock.write('body');
    flushNow(a.sock);
    assert.equal(a.sock.writableCorked, 0);
    assert.equal(a.sock.writableLength, 0);
    batched(a.sock).write(' tail');
    flushNow(a.sock);
    a.sock.destroy();
    await a.closed;
    assert.equal(a.got(), 'head body tail');
  } finally { k.close(); }
});

test('end() on a batched socket sends what it holds before the FIN', async () => {
  const k = await sink();
  try {
    const a = await k.pair();
    batched(a.sock).write('last words');
    a.sock.end();
    await a.closed;
    assert.equal(a.got(), 'last words');
  } finally { k.close(); }
});

test('a socket destroyed while batched is skipped at the turn\'s end without an error', async () => {
  const k = await sink();
  try {
    const a = await k.pair(), b = await k.pair();
    const errors: Error[] = [];
    a.sock.on('error', (e) => errors.push(e));
    batched(a.sock).write('dropped');
    batched(b.sock).write('kept');
    a.sock.destroy();
    await new Promise((r) => setImmediate(r));
    await until(() => b.got() === 'kept');
    await a.closed;
    assert.equal(a.got(), '');
    assert.deepEqual(errors, []);
    b.sock.destroy();
  } finally { k.close(); }
});
