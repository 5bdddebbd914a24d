import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from '../../src/l4/bucket.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A reader as a TCP flow is: spends each chunk, waits its turn when the bucket is in debt. */
function reader(b: TokenBucket, chunk: number, stop: () => boolean): { moved: number } {
  const r = { moved: 0 };
  const go = (): void => {
    while (!stop()) {
      r.moved += chunk;
      if (!b.spend(chunk)) { b.wait(go, chunk); return; }
    }
  };
  setImmediate(go);
  return r;
}

test('shaping: readers sharing a bucket move the rate between them, about equally', async () => {
  const RATE = 400_000;
  const b = new TokenBucket(RATE);
  let done = false;
  // Bulk TCP flows read full chunks (64 KiB on Node's sockets): one chunk each per turn.
  const rs = [reader(b, 65_536, () => done), reader(b, 65_536, () => done), reader(b, 65_536, () => done)];
  const t0 = performance.now();
  await sleep(1500);
  done = true;
  const s = (performance.now() - t0) / 1000;
  b.close();
  const total = rs.reduce((x, r) => x + r.moved, 0);
  assert.ok(total <= RATE * s + 64 * 1024 + 3 * 65_536, `moved ${total} in ${s.toFixed(2)} s at ${RATE} B/s`);
  assert.ok(total >= RATE * s * 0.7, `moved too little: ${total}`);
  for (const r of rs) assert.ok(r.moved >= (total / 3) * 0.75, `each reader gets its turn: ${rs.map((x) => x.moved).join(', ')}`);
});

test('policing: datagrams within the rate pass beside a bulk reader that keeps the bucket busy', async () => {
  const RATE = 400_000;
  const b = new TokenBucket(RATE);
  let done = false;
  const bulk = reader(b, 65_536, () => done);
  let sent = 0;
  let passed = 0;
  // A quarter of the rate in datagrams of 1,000 bytes.
  const timer = setInterval(() => { for (let i = 0; i < 5; i++) { sent++; if (b.trySpend(1000)) passed++; } }, 50);
  const t0 = performance.now();
  await sleep(1500);
  done = true;
  clearInterval(timer);
  const s = (performance.now() - t0) / 1000;
  b.close();
  assert.ok(passed >= sent * 0.8, `${passed} of ${sent} datagrams passed beside the bulk reader`);
  assert.ok(bulk.moved + passed * 1000 <= RATE * s + 64 * 1024 + 65_536, 'together within the rate');
  assert.ok(bulk.moved >= RATE * s * 0.4, `the reader still moves the rest: ${bulk.moved}`);
});

test('policing alone never goes past the depth plus the rate; a retune takes effect at once', async () => {
  const b = new TokenBucket(100_000);
  let passed = 0;
  for (let i = 0; i < 1000; i++) if (b.trySpend(1000)) passed++;
  assert.ok(passed <= 66 && passed >= 60, `a full bucket of 64 KiB: ${passed} datagrams`);
  b.retune(10_000_000);
  await sleep(50);
  let after = 0;
  for (let i = 0; i < 1000; i++) if (b.trySpend(1000)) after++;
  assert.ok(after >= 300, `the new rate refills ${after} KB in 50 ms`);
  b.close();
});
