// http-proxy with a keep-alive agent, round robin over the backends.
import { createServer, Agent } from 'node:http';
import httpProxy from 'http-proxy';

const [port, ...backends] = process.argv.slice(2).map(Number);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const proxy = httpProxy.createProxyServer({ agent });
proxy.on('error', (_err, _req, res) => { res.writeHead?.(502); res.end(); });
let next = 0;
createServer((req, res) => proxy.web(req, res, { target: `http://127.0.0.1:${backends[next++ % backends.length]}` }))
  .listen(port, '127.0.0.1', () => process.send?.('ready'));
// Stopped by the bench: exit normally so that --cpu-prof (bench/profile.ts) writes its profile.
process.on('SIGTERM', () => process.exit(0));
