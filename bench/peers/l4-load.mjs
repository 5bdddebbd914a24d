// The L4 bench's load and origins in one process (pinned to the load CPU by bench/l4.ts):
// it starts the origin servers a run needs on the ports it is given, drives the proxy, and
// prints one JSON line with the result. Every mode is bounded in bytes or time.
// Usage: l4-load.mjs MODE JSON
//   bulk     {proxy, origins, streams, bytes | seconds}  sender -> proxy -> sink, timed at the sink
//   cap      {proxy, origins, streams, warmup, seconds}  full duplex bulk, per-connection rates
//   refuse   {proxy, origins, hold, attempts}            time to refusal past a connection cap
//   udp      {proxy, origin, sockets, window, size, warmup, seconds}  request/response datagrams
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { performance } from 'node:perf_hooks';

const HOST = '127.0.0.1';
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function listen(port, onConn) {
  return new Promise((resolve, reject) => {
    const s = createServer({ allowHalfOpen: true }, onConn);
    s.once('error', reject);
    s.listen(port, HOST, () => resolve(s));
  });
}

/** Writes `bytes` (or until `until()` says stop), honouring back-pressure, then ends. */
async function pump(sock, bytes, until) {
  let sent = 0;
  while (!sock.destroyed && (bytes === null ? !until() : sent < bytes)) {
    const n = bytes === null ? CHUNK.length : Math.min(CHUNK.length, bytes - sent);
    sent += n;
    if (!sock.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
      await new Promise((r) => {
        const go = () => { sock.off('drain', go); sock.off('close', go); r(); };
        sock.on('drain', go);
        sock.on('close', go);
      });
    }
  }
  sock.end();
  return sent;
}

function open(port) {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: HOST, allowHalfOpen: true });
    s.once('connect', () => { s.off('error', reject); resolve(s); });
    s.once('error', reject);
  });
}

function deadline(ms, what) {
  let t;
  const p = new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`${what}: not done after ${ms} ms`)), ms); });
  return { p, clear: () => clearTimeout(t) };
}

async function bulk({ proxy, origins, streams, bytes, seconds, timeoutMs = 120_000 }) {
  let first = 0; let last = 0; let received = 0; let ended = 0;
  const allEnded = {};
  const done = new Promise((r) => { allEnded.ok = r; });
  const servers = await Promise.all(origins.map((p) => listen(p, (c) => {
    c.on('data', (d) => { if (!first) first = performance.now(); received += d.length; });
    c.on('end', () => { last = performance.now(); c.end(); if (++ended === streams) allEnded.ok(); });
    c.on('error', () => {});
  })));
  const perStream = bytes ? Math.floor(bytes / streams) : null;
  const stopAt = seconds ? performance.now() + seconds * 1000 : 0;
  const guard = deadline(timeoutMs, 'bulk');
  // A proxy that closes a connection without passing it on (no origin reachable) would leave
  // the sinks waiting: a client closed while its sink has not ended fails the run soon after.
  let closed = 0;
  const early = new Promise((_, reject) => { allEnded.fail = reject; });
  early.catch(() => {});
  const socks = [];
  try {
    const sent = await Promise.race([guard.p, early, Promise.all(Array.from({ length: streams }, async () => {
      const s = await open(proxy);
      socks.push(s);
      s.on('error', () => {});
      s.on('close', () => {
        if (++closed === streams) setTimeout(() => { if (ended < streams) allEnded.fail(new Error(`the proxy closed ${streams - ended} connection(s) before their sink saw the end`)); }, 2000).unref();
      });
      s.resume();
      return pump(s, perStream, () => performance.now() >= stopAt);
    }))]);
    await Promise.race([guard.p, early, done]);
    const total = sent.reduce((a, b) => a + b, 0);
    const secs = (last - first) / 1000;
    return { bytes: received, sent: total, seconds: secs, mbps: received / 1e6 / secs, complete: received === total };
  } finally {
    guard.clear();
    for (const s of socks) s.destroy();
    for (const s of servers) s.close();
  }
}

async function cap({ proxy, origins, streams, warmup, seconds }) {
  const upConns = []; // bytes each origin-side connection received (client -> origin)
  const downConns = []; // bytes each client received (origin -> client)
  let stopped = false;
  const originSocks = [];
  const servers = await Promise.all(origins.map((p) => listen(p, (c) => {
    const slot = { bytes: 0 };
    upConns.push(slot);
    originSocks.push(c);
    c.on('data', (d) => { slot.bytes += d.length; });
    c.on('error', () => {});
    void pump(c, null, () => stopped);
  })));
  const clients = [];
  try {
    for (let i = 0; i < streams; i++) {
      const s = await open(proxy);
      const slot = { bytes: 0 };
      downConns.push(slot);
      clients.push(s);
      s.on('data', (d) => { slot.bytes += d.length; });
      s.on('error', () => {});
      void pump(s, null, () => stopped);
    }
    await sleep(warmup * 1000);
    const snap = () => [upConns.map((x) => x.bytes), downConns.map((x) => x.bytes)];
    const [up0, down0] = snap();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const [up1, down1] = snap();
    const secs = (performance.now() - t0) / 1000;
    const rates = (a, b) => b.map((v, i) => (v - (a[i] ?? 0)) / 1e6 / secs);
    return { seconds: secs, originConnections: upConns.length, up: rates(up0, up1), down: rates(down0, down1) };
  } finally {
    stopped = true;
    for (const s of [...clients, ...originSocks]) s.destroy();
    for (const s of servers) s.close();
  }
}

async function refuse({ proxy, origins, hold, attempts, timeoutMs = 2000 }) {
  let accepted = 0;
  const originSocks = [];
  const servers = await Promise.all(origins.map((p) => listen(p, (c) => { accepted++; originSocks.push(c); c.on('error', () => {}); })));
  const held = [];
  try {
    for (let i = 0; i < hold; i++) { const s = await open(proxy); s.on('error', () => {}); held.push(s); }
    for (let i = 0; i < 250 && accepted < hold; i++) await sleep(20);
    const heldAtOrigin = accepted;
    const ms = [];
    let notRefused = 0;
    let openErrors = 0;
    for (let i = 0; i < attempts; i++) {
      const r = await new Promise((resolve) => {
        const t0 = performance.now();
        let connected = false;
        const s = connect({ port: proxy, host: HOST });
        const t = setTimeout(() => { s.destroy(); resolve({ kind: 'timeout' }); }, timeoutMs);
        const fin = () => { clearTimeout(t); s.destroy(); resolve(connected ? { kind: 'refused', ms: performance.now() - t0 } : { kind: 'error' }); };
        s.once('connect', () => { connected = true; });
        s.on('data', () => {});
        s.once('end', fin);
        s.once('close', fin);
        s.once('error', () => {});
      });
      if (r.kind === 'refused') ms.push(r.ms); else if (r.kind === 'timeout') notRefused++; else openErrors++;
      await sleep(5);
    }
    await sleep(100);
    return { heldAtOrigin, ms, notRefused, openErrors, reachedOrigin: accepted - heldAtOrigin, heldStillOpen: held.filter((s) => !s.destroyed && s.readyState === 'open').length };
  } finally {
    for (const s of [...held, ...originSocks]) s.destroy();
    for (const s of servers) s.close();
  }
}

async function udp({ proxy, origin, sockets, window, size, warmup, seconds }) {
  const echo = createSocket('udp4');
  echo.on('message', (m, r) => echo.send(m, r.port, r.address));
  await new Promise((r) => echo.bind(origin, HOST, r));
  const payload = Buffer.alloc(size, 0x62);
  let replies = 0; let lost = 0; let counting = false; let stopped = false;
  const clients = [];
  for (let i = 0; i < sockets; i++) {
    const s = createSocket('udp4');
    await new Promise((r) => s.bind(0, HOST, r));
    s.connect(proxy, HOST);
    await new Promise((r) => s.once('connect', r));
    const c = { s, inflight: 0, progress: performance.now() };
    s.on('message', () => {
      c.inflight--; c.progress = performance.now();
      if (counting) replies++;
      if (!stopped) { c.inflight++; s.send(payload); }
    });
    s.on('error', () => {});
    clients.push(c);
  }
  const fill = (c) => { while (c.inflight < window) { c.inflight++; c.s.send(payload); } };
  // A datagram lost anywhere would shrink the window for good: a socket that made no progress
  // for 200 ms counts its window as lost and sends a fresh one.
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const c of clients) if (now - c.progress > 200) { if (counting) lost += c.inflight; c.inflight = 0; c.progress = now; fill(c); }
  }, 50);
  try {
    for (const c of clients) fill(c);
    await sleep(warmup * 1000);
    counting = true;
    const t0 = performance.now();
    await sleep(seconds * 1000);
    counting = false;
    const secs = (performance.now() - t0) / 1000;
    return { seconds: secs, replies, rate: replies / secs, lost };
  } finally {
    stopped = true;
    clearInterval(sweep);
    for (const c of clients) c.s.close();
    echo.close();
  }
}

const modes = { bulk, cap, refuse, udp };
const [mode, arg] = process.argv.slice(2);
if (!modes[mode]) { process.stderr.write(`unknown mode ${mode}\n`); process.exit(2); }
modes[mode](JSON.parse(arg)).then(
  (r) => { process.stdout.write(JSON.stringify(r) + '\n'); process.exit(0); },
  (e) => { process.stdout.write(JSON.stringify({ error: String(e?.message ?? e) }) + '\n'); process.exit(1); },
);
