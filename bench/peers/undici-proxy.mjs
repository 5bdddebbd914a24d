// The fastest plain-Node baseline: node:http in, one undici Pool per backend via
// pool.dispatch() with undici's raw handler interface (no header-object parse), round
// robin. No routing, no retries, no health.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [port, ...backends] = process.argv.slice(2).map(Number);
const pools = backends.map((p) => new Pool(`http://127.0.0.1:${p}`, { pipelining: 1, keepAliveTimeout: 30_000 }));
let next = 0;

createServer((req, res) => {
  const pool = pools[next++ % pools.length];
  pool.dispatch({ path: req.url, method: req.method, headers: req.headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req }, {
    onConnect() {},
    onHeaders(status, raw) {
      const out = [];
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i].toString('latin1');
        const lower = name.toLowerCase();
        if (lower !== 'connection' && lower !== 'keep-alive') out.push(name, raw[i + 1].toString('latin1'));
      }
      res.writeHead(status, out);
      return true;
    },
    onData(chunk) { res.write(chunk); return true; },
    onComplete() { res.end(); },
    onError(err) { if (!res.headersSent) res.statusCode = 502; res.end(String(err.message)); },
  });
}).listen(port, '127.0.0.1', () => process.send?.('ready'));
// Stopped by the bench: exit normally so that --cpu-prof (bench/profile.ts) writes its profile.
process.on('SIGTERM', () => process.exit(0));
