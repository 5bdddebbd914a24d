// A fixed number of GETs over keep-alive connections, for bench/instructions.ts: waits until
// the URL answers 200, then sends `count` requests over `connections` connections and
// prints a JSON line {sent, non200}.
import { Agent, request } from 'undici';

const [url, count, connections] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 8)];
const agent = new Agent({ connections, pipelining: 1 });
const until = Date.now() + 120_000;
for (;;) {
  const r = await request(url, { dispatcher: agent }).catch(() => null);
  if (r) await r.body.dump();
  if (r?.statusCode === 200) break;
  if (Date.now() > until) throw new Error(`${url} did not answer 200 within 120 s`);
  await new Promise((res) => setTimeout(res, 200));
}
let sent = 0;
let non200 = 0;
await Promise.all(Array.from({ length: connections }, async () => {
  while (sent < count) {
    sent++;
    const r = await request(url, { dispatcher: agent });
    await r.body.dump();
    if (r.statusCode !== 200) non200++;
  }
}));
await agent.close();
process.stdout.write(`${JSON.stringify({ sent, non200 })}\n`);
