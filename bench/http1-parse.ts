// Parse cost of the lean engine's HTTP/1.1 parser: ns per head (and per chunked body) in a
// micro-loop, strings included. Run: node --import tsx bench/http1-parse.ts
import { DEFAULT_HEAD_LIMITS, newRequestHead, newResponseHead } from '../src/proxy/http1/head.js';
import { ChunkedFraming, parseRequestHead, parseResponseHead } from '../src/proxy/http1/parse.js';

const browserGet = Buffer.from('GET /api/v1/items/12345?expand=owner&limit=20 HTTP/1.1\r\nHost: api.example.com\r\n'
  + 'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n'
  + 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n'
  + 'Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\nCookie: session=0123456789abcdef; theme=dark\r\n'
  + 'X-Forwarded-For: 10.0.0.1\r\n\r\n', 'latin1');
const smallGet = Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n\r\n', 'latin1');
const response = Buffer.from('HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Wed, 21 Oct 2015 07:28:00 GMT\r\nContent-Type: application/json\r\n'
  + 'Content-Length: 1234\r\nConnection: keep-alive\r\nCache-Control: no-cache\r\n\r\n', 'latin1');
const chunked = Buffer.from(`${'400\r\n' + 'x'.repeat(1024) + '\r\n'}`.repeat(16) + '0\r\n\r\n', 'latin1');

function time(label: string, bytes: number, run: () => void): void {
  for (let i = 0; i < 200_000; i++) run();
  const n = 2_000_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) run();
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${label.padEnd(44)} ${ns.toFixed(0).padStart(6)} ns   ${(bytes / ns).toFixed(2)} bytes/ns`);
}

const rq = newRequestHead(), rs = newResponseHead(), f = new ChunkedFraming();
const L = DEFAULT_HEAD_LIMITS;
time(`request head, browser GET (${browserGet.length} B, 9 fields)`, browserGet.length, () => { parseRequestHead(browserGet, 0, browserGet.length, rq, L); });
time(`request head, wrk GET (${smallGet.length} B, 2 fields)`, smallGet.length, () => { parseRequestHead(smallGet, 0, smallGet.length, rq, L); });
time(`response head (${response.length} B, 6 fields)`, response.length, () => { parseResponseHead(response, 0, response.length, rs, L); });
time(`chunked framing, 16 x 1 KiB chunks (${chunked.length} B)`, chunked.length, () => { f.reset(); f.scan(chunked, 0, chunked.length); });
