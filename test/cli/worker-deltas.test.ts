import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
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
    // A request left pending does not keep the test process alive by itself.
    timer.unref();
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
 * Asks on fresh connections until every one of `workers` has answered (bounded), each answer
 * checked against `want`. A worker started a moment ago gets connections once it listens.
 */
async function everyWorkerAnswers(p: SluiceProcess, host: string, want: Omit<Answer, 'worker'>, workers: readonly number[]): Promise<void> {
  const seen = new Set<number>();
  let i = 0;
  await until(`${host}: answers from every worker (${workers.join(', ')})`, async () => {
    const a = await ask(p, host, 10_000);
    assert.ok(a, `${host}: request ${i} got no answer in 10 s`);
    assert.deepEqual({ status: a.status, name: a.name }, want, `${host}: request ${i}, served by worker ${a.worker}`);
    assert.ok(a.worker !== null && workers.includes(a.worker), `${host}: request ${i} served by ${a.worker}, not one of the workers ${workers.join(', ')}`);
    seen.add(a.worker);
    i++;
    return workers.every((w) => seen.has(w));
  }, 30_000);
}

/**
 * While another worker is stopped: asks on fresh connections until `live` has answered `name`
 * three times (the first of them may still see the config before the write). A connection
 * the cluster handed to the stopped worker gets no answer; those requests are returned still
 * pending, for the caller to see what they get once it runs again.
 */
async function liveWorkerServes(p: SluiceProcess, host: string, live: number, name: string, before: string): Promise<Promise<Answer | null>[]> {
  const pending: Promise<Answer | null>[] = [];
  let served = 0;
  await until(`${host}: worker ${live} serves ${name}`, async () => {
    const a = ask(p, host, 30_000);
    const got = await Promise.race([a, sleep(1000).then(() => 'waiting' as const)]);
    // Settled either way: a connection handed to a worker that then dies is reset or times out.
    if (got === 'waiting') { pending.push(a.catch(() => null)); return false; }
    assert.ok(got);
    assert.equal(got.worker, live, 'the stopped worker answers nothing');
    assert.equal(got.status, 200);
    if (served === 0 && got.name === before) return false;
    assert.equal(got.name, name, 'once the live worker serves the write, every answer of it does');
    return ++served === 3;
  }, 30_000);
  return pending;
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

/** Tenant, upstream on `first` and a route for acks.test; returns the upstream and the revision once both workers applied it. */
async function routeToFirst(p: SluiceProcess, first: Backend, workers: number[]): Promise<{ upstreamId: string; revision: number }> {
  const api = adminApi(p);
  const r0 = (await theNode(p)).appliedRevision;
  const tenant = await api('POST', '/v1/tenants', { name: 'acks' });
  const u = await api('POST', '/v1/upstreams', { tenantId: tenant.body.id, name: 'acks', members: [{ host: '127.0.0.1', port: first.port }] });
  assert.equal(u.status, 201);
  assert.equal((await api('POST', '/v1/routes', { upstreamId: u.body.id, hosts: ['acks.test'] })).status, 201);
  await registryAt(p, r0 + 3, 'the route');
  await everyWorkerAnswers(p, 'acks.test', { status: 200, name: 'first' }, workers);
  return { upstreamId: u.body.id as string, revision: r0 + 3 };
}

test('--workers 2: a stopped worker holds the registry at the revision it acknowledged while the other serves the write; resumed, it catches up', { timeout: 120_000 }, async () => {
  await withTwoWorkers(async (p, { first, second }, stopped) => {
    const workers = await twoWorkers(p);
    const { upstreamId, revision } = await routeToFirst(p, first, workers);
    const [held, live] = workers as [number, number];
    process.kill(held, 'SIGSTOP');
    stopped.add(held);
    const put = await adminApi(p)('PUT', `/v1/upstreams/${upstreamId}`, { name: 'acks', members: [{ host: '127.0.0.1', port: second.port }] });
    assert.equal(put.status, 200);
    const pending = await liveWorkerServes(p, 'acks.test', live, 'second', 'first');

    // A bounded observation: 1.5 s of polls, while the node keeps beating.
    const seen = new Set<string>();
    for (const end = Date.now() + 1500; Date.now() < end; await sleep(100)) {
      const n = await theNode(p);
      assert.equal(n.appliedRevision, revision, 'the stopped worker has not acknowledged the write');
      assert.equal(n.status, 'up');
      seen.add(n.lastSeenAt);
    }
    assert.ok(seen.size >= 2, `the node beat during the observation (${seen.size} distinct beats)`);

    process.kill(held, 'SIGCONT');
    stopped.delete(held);
    await registryAt(p, revision + 1, 'the resumed worker acknowledged');
    // The connections it was handed while stopped are answered after the delta sent before them.
    for (const a of await Promise.all(pending)) {
      assert.ok(a, 'a connection held by the stopped worker is answered once it runs');
      assert.deepEqual({ status: a.status, name: a.name }, { status: 200, name: 'second' });
    }
    await everyWorkerAnswers(p, 'acks.test', { status: 200, name: 'second' }, workers);
  });
});

test('--workers 2: a killed worker is replaced, the replacement gets the whole config, and the dead one does not hold the registry back', { timeout: 120_000 }, async () => {
  await withTwoWorkers(async (p, { first, second }, stopped) => {
    const api = adminApi(p);
    const workers = await twoWorkers(p);
    const { upstreamId, revision } = await routeToFirst(p, first, workers);
    const [dead, survivor] = workers as [number, number];
    // Stopped first, so that it dies holding an acknowledgement older than the write.
    process.kill(dead, 'SIGSTOP');
    stopped.add(dead);
    assert.equal((await api('PUT', `/v1/upstreams/${upstreamId}`, { name: 'acks', members: [{ host: '127.0.0.1', port: second.port }] })).status, 200);
    // What it was handed while stopped dies with it (node:cluster does not hand it on): not checked.
    await liveWorkerServes(p, 'acks.test', survivor, 'second', 'first');
    assert.equal((await theNode(p)).appliedRevision, revision, 'held back while the worker lives');

    process.kill(dead, 'SIGKILL');
    await registryAt(p, revision + 1, 'the dead worker no longer counts');
    const now = await until('a replacement worker', () => {
      const w = workerPids(p.child.pid!);
      return w.length === 2 && !w.includes(dead) && w;
    }, 30_000);
    assert.ok(now.includes(survivor), 'the survivor is left alone');
    // Started after the write, the replacement serves it: it got the whole config.
    await everyWorkerAnswers(p, 'acks.test', { status: 200, name: 'second' }, now);
    await registryAt(p, revision + 1, 'with the replacement');

    // From then on it follows the deltas like the other.
    const r = await api('POST', '/v1/routes', { upstreamId, hosts: ['more.test'] });
    assert.equal(r.status, 201);
    await registryAt(p, revision + 2, 'the route after the replacement');
    await everyWorkerAnswers(p, 'more.test', { status: 200, name: 'second' }, now);
  });
});

/** A port that was free a moment ago (the next test binds it as a fixed port). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

test('--workers 2 on a fixed port: a worker started while writes stream in listens once and stays up', { timeout: 120_000 }, async () => {
  // A delta that reaches a starting worker before its first config makes it ask for the whole
  // config again, so it gets two; it must not start a second listener on the port (which the
  // cluster refuses with EADDRINUSE, and the worker exited).
  const port = await freePort();
  const p = await startSluiceProcess(['--workers', '2', '--proxy-listen', `127.0.0.1:${port}`]);
  const failures: string[] = [];
  p.lines.on('line', (l) => { if (l.includes('could not listen') || l.includes('proxy worker died')) failures.push(l); });
  try {
    const api = adminApi(p);
    const tenant = await api('POST', '/v1/tenants', { name: 'churn' });
    const u = await api('POST', '/v1/upstreams', { tenantId: tenant.body.id, name: 'churn', members: [{ host: '127.0.0.1', port: 1 }] });
    assert.equal(u.status, 201);
    for (let round = 0; round < 3; round++) {
      const before = await twoWorkers(p);
      process.kill(before[0]!, 'SIGKILL');
      let writing = true;
      const writes = (async () => {
        for (let i = 0; writing; i++) {
          const r = await api('PUT', `/v1/upstreams/${u.body.id}`, { name: 'churn', members: [{ host: '127.0.0.1', port: 1 + (i % 1000) }] });
          assert.equal(r.status, 200);
        }
      })();
      try {
        const now = await until('a replacement worker', () => {
          const w = workerPids(p.child.pid!);
          return w.length === 2 && !w.includes(before[0]!) && w;
        }, 30_000);
        // Long enough for the replacement to load, get its configs and listen (or fail to).
        await sleep(3000);
        writing = false;
        await writes;
        assert.deepEqual(workerPids(p.child.pid!), now, `round ${round}: the replacement is still running`);
      } finally {
        writing = false;
        await writes.catch(() => {});
      }
    }
    // One 'died' line per worker the test killed; none that could not listen.
    assert.equal(failures.filter((l) => l.includes('could not listen')).length, 0, failures.join('\n'));
    assert.equal(failures.length, 3, failures.join('\n'));
  } finally {
    await p.cleanup();
  }
});
