// A minimal keep-alive backend answering a ~100-byte body (used when nginx is absent).
import { createServer } from 'node:http';

const body = Buffer.from('x'.repeat(100));
const port = Number(process.argv[2]);
createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
}).listen(port, '127.0.0.1', () => process.send?.('ready'));
