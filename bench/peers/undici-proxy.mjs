// The fastest plain-Node baseline: node:http in, one undici Pool per backend via
// pool.dispatch() with a minimal handler, round robin. No routing, no retries, no health.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [port, ...backends] = process.argv.slice(2).map(Number);
const pools = backends.map((p) => new Pool(`http://127.0.0.1:${p}`, { pipelining: 1, keepAliveTimeout: 30_000 }));
let next = 0;

createServer((req, res) => {
  const pool = pools[next++ % pools.length];
  pool.dispatch({ path: req.url, method: req.method, headers: req.headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req }, {
    onRequestStart() {},
    onResponseStart(_c, status, headers) { delete headers.connection; delete headers['keep-alive']; res.writeHead(status, headers); },
    onResponseData(_c, chunk) { res.write(chunk); },
    onResponseEnd() { res.end(); },
    onResponseError(_c, err) { if (!res.headersSent) { res.statusCode = 502; } res.end(String(err.message)); },
  });
}).listen(port, '127.0.0.1', () => process.send?.('ready'));
