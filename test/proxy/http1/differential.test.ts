import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeOracle, compare, escape, generate, Rng, runNode, runOurs, type Case } from './fuzz-kit.js';
import { compareResponse, generateResponse, runNodeResponse, runOursResponse } from './response-fuzz-kit.js';

// A fixed seed and count: the same inputs on every run. scripts/fuzz-http1.ts runs longer ones.
const SEED = 20240518;
const COUNT = 250_000;
const RESPONSE_COUNT = 60_000;

after(() => closeOracle());

async function check(c: Case, label: string): Promise<void> {
  const node = await runNode(c);
  const ours = runOurs(c);
  const diff = compare(node, ours);
  assert.equal(diff, null, `${label}: ${diff}\n  input: ${escape(c.bytes)} splits=${JSON.stringify(c.splits)}\n  node: ${node.end} ${node.why}\n  ours: ${ours.end} ${ours.why}`);
}

test('inputs the long fuzz runs found: ours refuses whatever node refuses, and agrees where both accept', async () => {
  const found = [
    'GET http://h#f HTTP/1.1\r\nHost: a\r\n\r\n',
    'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n',
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\t\r\n\r\nx',
    'GET /\x80\xff HTTP/1.1\r\nHost: a\r\n\r\n',
    'POST / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: \r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: a\r\n\r\n',
  ];
  for (const s of found) await check({ bytes: Buffer.from(s, 'latin1'), splits: [] }, 'regression');
  // node takes these as HTTP/0.9 requests; ours refused them only once a blank line came, which never does.
  await check({ bytes: Buffer.from('HEAD /~user"HTTP/1\n\r\n', 'latin1'), splits: [1, 10] }, 'regression');
  await check({ bytes: Buffer.from('QUERY /HTTP/1.1\n\r\n', 'latin1'), splits: [2, 10, 15] }, 'regression');
});

test(`differential fuzz against node:http (llhttp): ${COUNT} generated and mutated request streams, seed ${SEED}`, async () => {
  const rng = new Rng(SEED);
  let bothAccepted = 0;
  for (let i = 0; i < COUNT; i++) {
    const c = generate(rng);
    const node = await runNode(c);
    const ours = runOurs(c);
    const diff = compare(node, ours);
    if (diff !== null) {
      assert.fail(`seed ${SEED}, input ${i} (replay: scripts/fuzz-http1.ts --seed ${SEED} --from ${i} --count 1): ${diff}\n`
        + `  input: ${escape(c.bytes)} splits=${JSON.stringify(c.splits)}\n  node: ${node.end} ${node.why}\n  ours: ${ours.end} ${ours.why}`);
    }
    if (node.end !== 'refused' && ours.end !== 'refused' && node.messages.length > 0) bothAccepted++;
  }
  // The generator must keep producing streams both parsers take, or the boundary comparison is empty.
  assert.ok(bothAccepted > COUNT / 10, `only ${bothAccepted} of ${COUNT} streams were accepted by both parsers`);
});

test('response heads: the regression inputs', async () => {
  for (const s of ['HTTP/1.0 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx', 'HTTP/1.1 304 OK\r\nContent-Length: 3\r\n\r\nabc']) {
    const c = { bytes: Buffer.from(s, 'latin1'), splits: [] };
    const node = await runNodeResponse(c);
    const ours = runOursResponse(c);
    assert.equal(compareResponse(node, ours), null, `${escape(c.bytes)}: node ${node.end} ${node.why}, ours ${ours.end} ${ours.why}`);
  }
});

test(`differential fuzz of the response parser against node's client (llhttp): ${RESPONSE_COUNT} streams, seed ${SEED}`, async () => {
  const rng = new Rng(SEED);
  let bothAccepted = 0;
  for (let i = 0; i < RESPONSE_COUNT; i++) {
    const c = generateResponse(rng);
    const node = await runNodeResponse(c);
    const ours = runOursResponse(c);
    const diff = compareResponse(node, ours);
    if (diff !== null) {
      assert.fail(`seed ${SEED}, input ${i} (replay: scripts/fuzz-http1.ts --responses --seed ${SEED} --from ${i} --count 1): ${diff}\n`
        + `  input: ${escape(c.bytes)} splits=${JSON.stringify(c.splits)}\n  node: ${node.end} ${node.why}\n  ours: ${ours.end} ${ours.why}`);
    }
    if (node.end === 'complete' && ours.end === 'complete') bothAccepted++;
  }
  assert.ok(bothAccepted > RESPONSE_COUNT / 10, `only ${bothAccepted} of ${RESPONSE_COUNT} responses were accepted by both parsers`);
});
