// The bare Node UDP baseline: one session per client address, a connected socket per
// session to the origin, replies sent back from the listening socket; idle sessions expire.
// Usage: udp-relay.mjs LISTEN_PORT=ORIGIN_PORT
import { createSocket } from 'node:dgram';

const IDLE_MS = 120_000;
const [listen, origin] = process.argv[2].split('=').map(Number);
const server = createSocket('udp4');
const sessions = new Map();

server.on('message', (msg, from) => {
  const key = `${from.address}:${from.port}`;
  let s = sessions.get(key);
  if (!s) {
    const sock = createSocket('udp4');
    s = { sock, seen: Date.now(), ready: false, queue: [] };
    sessions.set(key, s);
    const session = s;
    sock.on('message', (reply) => { session.seen = Date.now(); server.send(reply, from.port, from.address); });
    sock.on('error', () => { sessions.delete(key); sock.close(); });
    sock.connect(origin, '127.0.0.1', () => {
      session.ready = true;
      for (const m of session.queue) sock.send(m);
      session.queue = [];
    });
  }
  s.seen = Date.now();
  if (s.ready) s.sock.send(msg); else s.queue.push(msg);
});

setInterval(() => {
  const now = Date.now();
  for (const [key, s] of sessions) if (now - s.seen > IDLE_MS) { sessions.delete(key); s.sock.close(); }
}, 10_000).unref();

server.bind(listen, '127.0.0.1');
