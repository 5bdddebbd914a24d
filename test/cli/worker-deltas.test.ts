import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { echo, startBackend, type Backend } from '../helpers/backends.js';
import { adminApi, startSluiceProcess, type SluiceProcess } from '../helpers/cli.js';
import { connectionOwner, workerPids } from '../helpers/procs.js';
import { until } from '../helpers/wait.js';

// Workers on config deltas (issue 16): every write reaches every worker, each worker
// acknowledges what it applied, and the registry's applied revision is the lowest of them.

// Short beats, so that the registry follows the acknowledgements within a fraction of a second.
const BEAT = { SLUICE_HEARTBEAT_MS: '200' };

/** One answer of the data plane: the backend's name (or the gateway's error code) and the worker that served it. */
interface Answer { status: number; name: string; worker: number | null }

/**
 * One request on a fresh client connection (node:cluster hands each connection to the next
 * free worker). The serving worker is read from the kernel while the connection is still
 * open (kept alive after the answer). null: no answer within `ms` (the request is dropped).
 */
function ask(p: SluiceProcess, host: string, ms: number): Promise<Answer | null> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return new Promise<Answer | null>((resolve, reject) => {
    const timer = setTimeout(() => { req.destroy(); agent.destroy(); resolve(null); }, ms);
    const req = httpRequest(`${p.proxyUrl}/`, { agent, headers: { host } }, (res) => {
      // The socket leaves the response once it is read (back to the agent, still open).
      const clientPort = res.socket.localPort!;
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => {
        clearTimeout(timer);
        try {
          const worker = connectionOwner(Number(new URL(p.proxyUrl).port), clientPort, workerPids(p.child.pid!));
          const name = res.statusCode === 200 ? (JSON.parse(text) as { name: string }).name : String(res.headers['x-sluice-error']);
          resolve({ status: res.statusCode!, name, worker });
        } catch (err) {
          reject(err);
        } finally {
          agent.destroy();
        }
      });
    });
    req.on('error', (err) => { clearTimeout(timer); agent.destroy(); reject(err); });
    req.end();
  });
}

/**
 * Asks on fresh connections until every one of `workers` has answered (at most 40 requests),
 * each answer checked against `want`; returns the workers that answered.
 */
async function everyWorkerAnswers(p: SluiceProcess, host: string, want: Omit<Answer, 'worker'>, workers: readonly number[]): Promise<Set<number>> {
  const seen = new Set<number>();
  for (let i = 0; i < 40 && workers.some((w) => !seen.has(w)); i++) {
    const a = await ask(p, host, 10_000);
    assert.ok(a, `${host}: request ${i} got no answer in 10 s`);
    assert.deepEqual({ status: a.status, name: a.name }, want, `${host}: request ${i}, served by worker ${a.worker}`);
    assert.ok(a.worker !== null && workers.includes(a.worker), `${host}: request ${i} served by ${a.worker}, not one of the workers ${workers.join(', ')}`);
    seen.add(a.worker);
  }
  assert.deepEqual([...seen].sort(), [...workers].sort(), `${host}: every worker answered`);
  return seen;
}

interface NodeOut { appliedRevision: number; lastSeenAt: string; status: string }

async function theNode(p: SluiceProcess): Promise<NodeOut> {
  const r = await adminApi(p)('GET', '/v1/nodes');
  assert.equal(r.status, 200);
  assert.equal(r.body.items.length, 1);
  return r.body.items[0] as NodeOut;
}

/** Waits for the registry to show `revision` applied (bounded). */
function registryAt(p: SluiceProcess, revision: number, what: string, ms = 15_000): Promise<NodeOut> {
  return until(`${what}: the registry at revision ${revision}`, async () => {
    const n = await theNode(p);
    assert.ok(n.appliedRevision <= revision, `the registry went past ${revision}: ${n.appliedRevision}`);
    return n.appliedRevision === revision && n.status === 'up' && n;
  }, ms);
}

/** The two workers of `p`, once both are running. */
function twoWorkers(p: SluiceProcess): Promise<number[]> {
  return until('two proxy workers', () => { const w = workerPids(p.child.pid!); return w.length === 2 && w; });
}

/** A sluice process with two workers and two backends, cleaned up whatever happens (stopped workers included). */
async function withTwoWorkers(body: (p: SluiceProcess, b: { first: Backend; second: Backend }, stopped: Set<number>) => Promise<void>): Promise<void> {
  const first = await startBackend('first', echo);
  const second = await startBackend('second', echo);
  const p = await startSluiceProcess(['--workers', '2'], BEAT);
  // Workers the test stopped: a stopped process would neither see its primary go nor die of
  // anything but SIGKILL, so they are killed here by pid.
  const stopped = new Set<number>();
  try {
    await body(p, { first, second }, stopped);
  } finally {
    for (const pid of stopped) { try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ } }
    await p.cleanup();
    await first.close();
    await second.close();
  }
}

test('--workers 2: creates, member changes, a second route and a delete reach both workers, and the registry shows each once both applied it', { timeout: 120_000 }, async () => {
  await withTwoWorkers(async (p, { first, second }) => {
    const api = adminApi(p);
    const workers = await twoWorkers(p);
    // Nothing was written since the start: the registry holds the store's revision.
    const r0 = (await theNode(p)).appliedRevision;
    let writes = 0;
    const wrote = async (status: number, r: Promise<{ status: number; body: Record<string, any> }>) => {
      const res = await r;
      assert.equal(res.status, status, JSON.stringify(res.body));
      writes++;
      await registryAt(p, r0 + writes, `write ${writes}`);
      return res.body;
    };
    const tenant = await wrote(201, api('POST', '/v1/tenants', { name: 'deltas' }));
    const u = await wrote(201, api('POST', '/v1/upstreams', { tenantId: tenant.id, name: 'deltas', members: [{ host: '127.0.0.1', port: first.port }] }));
    const one = await wrote(201, api('POST', '/v1/routes', { upstreamId: u.id, hosts: ['one.test'] }));
    await everyWorkerAnswers(p, 'one.test', { status: 200, name: 'first' }, workers);

    await wrote(200, api('PUT', `/v1/upstreams/${u.id}`, { name: 'deltas', members: [{ host: '127.0.0.1', port: second.port }] }));
    await everyWorkerAnswers(p, 'one.test', { status: 200, name: 'second' }, workers);

    await wrote(201, api('POST', '/v1/routes', { upstreamId: u.id, hosts: ['two.test'] }));
    await everyWorkerAnswers(p, 'two.test', { status: 200, name: 'second' }, workers);
    await everyWorkerAnswers(p, 'one.test', { status: 200, name: 'second' }, workers);

    await wrote(204, api('DELETE', `/v1/routes/${one.id}`));
    await everyWorkerAnswers(p, 'one.test', { status: 404, name: 'route_not_found' }, workers);
    await everyWorkerAnswers(p, 'two.test', { status: 200, name: 'second' }, workers);
    assert.deepEqual(workerPids(p.child.pid!), workers, 'no worker was replaced on the way');
  });
});
