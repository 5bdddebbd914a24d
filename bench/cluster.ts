// npm run bench:cluster: three built sluice nodes on one private schema of the machine's
// PostgreSQL. Propagation: how soon a write answered by node A serves traffic on B and C.
// Catch-up: how soon a node stopped through 1,000 writes serves the latest once started.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Pool } from 'undici';
import { freePort, launch, median, pct, shippedNodeFlags, sleep, stop, waitPort, writeResults } from './lib.js';

const { values: flags } = parseArgs({
  options: {
    writes: { type: 'string', default: '500' },
    rate: { type: 'string', default: '20' },
    backlog: { type: 'string', default: '1000' },
    'probe-ms': { type: 'string', default: '2' },
    'no-apply': { type: 'boolean', default: false },
  },
});
const WRITES = Number(flags.writes);
const RATE = Number(flags.rate);
const BACKLOG = Number(flags.backlog);
const PROBE_MS = Number(flags['probe-ms']);
const PG_URL = process.env.SLUICE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TOKEN = `bench-cluster-${randomBytes(12).toString('hex')}`;
// A write not seen within this long counts as missed (reported, and the bar fails).
const SEEN_WITHIN_MS = 10_000;
const BAR_PROPAGATION_P99_MS = 200;
const BAR_CATCH_UP_MS = 2000;

interface Node { name: string; admin: string; proxyPort: number; proc: ChildProcess; dir: string; probe: Pool }

async function sql(url: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await c.connect();
  try { await c.query(text); } finally { await c.end(); }
}

/** One `node dist/cli.js start` as shipped (npm start's V8 flags, default heartbeat), on fixed free ports. */
async function startNode(store: string, name: string, ports?: { admin: number; proxy: number }): Promise<Node> {
  const admin = ports?.admin ?? await freePort();
  const proxyPort = ports?.proxy ?? await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-cluster-'));
  const proc = launch(process.execPath, [...shippedNodeFlags(), 'dist/cli.js', 'start', '--store', store, '--node-name', name,
    '--data-dir', dir, '--admin-listen', `127.0.0.1:${admin}`, '--proxy-listen', `127.0.0.1:${proxyPort}`, '--log-level', 'warn'], null,
  { SLUICE_ADMIN_TOKEN: TOKEN });
  return { name, admin: `http://127.0.0.1:${admin}`, proxyPort, proc, dir, probe: new Pool(`http://127.0.0.1:${proxyPort}`, { connections: 1 }) };
}

async function ready(n: Node): Promise<void> {
  await waitPort(Number(new URL(n.admin).port), 30_000);
  await waitPort(n.proxyPort, 30_000);
}

async function stopNode(n: Node): Promise<void> {
  await n.probe.close().catch(() => undefined);
  await stop(n.proc);
  rmSync(n.dir, { recursive: true, force: true });
}

async function api(n: Node, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(n.admin + path, {
    method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} on ${n.name}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Whether GET `path` through the node's proxy is routed (answered 200 by the backend); false on any failure. */
async function routed(n: Node, path: string): Promise<boolean> {
  try {
    const r = await n.probe.request({ method: 'GET', path, headersTimeout: 2000, bodyTimeout: 2000 });
    await r.body.dump();
    return r.statusCode === 200;
  } catch {
    return false;
  }
}

/** Polls `path` on `n` every PROBE_MS until it is routed; the time of the answer that said so, or null after `ms`. */
async function seenAt(n: Node, path: string, ms = SEEN_WITHIN_MS): Promise<number | null> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await routed(n, path)) return performance.now();
    await sleep(PROBE_MS);
  }
  return null;
}

interface Write { path: string; committed: number | null }
interface Spread { n: number; missed: number; p50: number; p99: number; max: number }
const spread = (xs: number[], missed: number): Spread => ({ n: xs.length, missed, p50: pct(xs, 50), p99: pct(xs, 99), max: Math.max(...xs) });

/**
 * The observer on one node: one GET at a time on one keep-alive connection, for the oldest
 * write not yet seen, PROBE_MS apart while it is not routed. A node applies revisions in
 * order, so once a write is seen the next is probed at once (it may be routed already).
 * Its own cost is a few hundred small requests a second, whatever the write rate.
 */
async function observe(n: Node, writes: Write[], stats: { probes: number; busyMs: number }): Promise<Spread> {
  const delays: number[] = [];
  let missed = 0;
  for (let next = 0; next < WRITES;) {
    const w = writes[next];
    if (!w || w.committed === null) { await sleep(PROBE_MS); continue; }
    const t = performance.now();
    const seen = await routed(n, w.path);
    const now = performance.now();
    stats.probes++;
    stats.busyMs += now - t;
    if (seen) { delays.push(now - w.committed); next++; continue; }
    if (now - w.committed > SEEN_WITHIN_MS) { missed++; next++; continue; }
    await sleep(PROBE_MS);
  }
  return spread(delays, missed);
}

/** WRITES route additions through A at RATE a second; each one's delay from A's answer until B and C route it. */
async function propagation(a: Node, observers: Node[], upstreamId: string): Promise<{ per: Map<string, Spread>; probeRttMs: number; writeMs: number[] }> {
  const writes: Write[] = [];
  const stats = { probes: 0, busyMs: 0 };
  const watching = observers.map((o) => observe(o, writes, stats));
  const writeMs: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < WRITES; i++) {
    const due = t0 + (i * 1000) / RATE;
    if (due > performance.now()) await sleep(due - performance.now());
    const w: Write = { path: `/p/${i}/`, committed: null };
    writes.push(w);
    const sent = performance.now();
    await api(a, 'POST', '/v1/routes', { upstreamId, paths: [w.path] });
    w.committed = performance.now();
    writeMs.push(w.committed - sent);
  }
  const spreads = await Promise.all(watching);
  return { per: new Map(observers.map((o, i) => [o.name, spreads[i]!])), probeRttMs: stats.busyMs / stats.probes, writeMs };
}

/** Starts `name` on the given ports and times spawn to the first answer routing `path`. */
async function timedStart(store: string, name: string, ports: { admin: number; proxy: number }, path: string): Promise<{ node: Node; ms: number }> {
  const t = performance.now();
  const node = await startNode(store, name, ports);
  for (;;) {
    if (await routed(node, path)) return { node, ms: performance.now() - t };
    if (performance.now() - t > 60_000) throw new Error(`${name} did not route ${path} within 60 s`);
    if (node.proc.exitCode !== null) throw new Error(`${name} exited ${node.proc.exitCode}`);
    await sleep(PROBE_MS);
  }
}

async function main(): Promise<void> {
  const schema = `sluice_bench_${randomBytes(6).toString('hex')}`;
  const u = new URL(PG_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  const store = u.toString();
  await sql(PG_URL, `CREATE SCHEMA ${schema}`);
  const backend: Server = createServer((_q, s) => { s.end('ok'); });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const backendPort = (backend.address() as { port: number }).port;
  const nodes: Node[] = [];
  let report = '';
  const out = (s: string) => { process.stdout.write(s); report += s; };
  try {
    // A first, alone: it migrates the empty schema and registers the operator token.
    const a = await startNode(store, 'bench-a');
    nodes.push(a);
    await ready(a);
    const [b, c] = await Promise.all(['bench-b', 'bench-c'].map((n) => startNode(store, n)));
    nodes.push(b!, c!);
    await Promise.all([ready(b!), ready(c!)]);
    const tenant = await api(a, 'POST', '/v1/tenants', { name: 'bench' });
    const up = await api(a, 'POST', '/v1/upstreams', { tenantId: tenant.id, name: 'web', members: [{ host: '127.0.0.1', port: backendPort }] });
    // Warm-up: one route seen by every node before the clock starts.
    await api(a, 'POST', '/v1/routes', { upstreamId: up.id, paths: ['/warm/'] });
    for (const n of nodes) if ((await seenAt(n, '/warm/')) === null) throw new Error(`${n.name} never routed /warm/`);

    out(`\n## Propagation: ${WRITES} route additions through A at ${RATE}/s, until B and C route them (${new Date().toISOString()})\n\n`);
    const prop = await propagation(a, [b!, c!], up.id);
    out(`Observer: per node one GET at a time on one keep-alive connection for the oldest write not yet seen, ${PROBE_MS} ms apart while not routed; a probe's round trip averaged ${prop.probeRttMs.toFixed(2)} ms, so the resolution is about ${(PROBE_MS + prop.probeRttMs).toFixed(1)} ms.\n`);
    out(`A's write answered in p50 ${median(prop.writeMs).toFixed(1)} ms, p99 ${pct(prop.writeMs, 99).toFixed(1)} ms (not counted below: the clock starts at its answer).\n\n`);
    out('| node | seen | missed | p50 ms | p99 ms | max ms | bar p99 <= 200 ms |\n|---|---|---|---|---|---|---|\n');
    let propOk = true;
    for (const [name, s] of prop.per) {
      const pass = s.missed === 0 && s.p99 <= BAR_PROPAGATION_P99_MS;
      propOk &&= pass;
      out(`| ${name} | ${s.n} | ${s.missed} | ${s.p50.toFixed(1)} | ${s.p99.toFixed(1)} | ${s.max.toFixed(1)} | ${pass ? 'PASS' : 'MISS'} |\n`);
    }

    out(`\n## Catch-up: C stopped (SIGTERM) through ${BACKLOG} writes, then started; spawn to serving the latest write\n\n`);
    const ports = { admin: Number(new URL(c!.admin).port), proxy: c!.proxyPort };
    await stopNode(c!);
    nodes.splice(nodes.indexOf(c!), 1);
    // The backlog: member changes and route additions, through A and B in turn; the last one a route C must serve.
    for (let i = 0; i < BACKLOG - 1; i++) {
      const via = i % 2 ? b! : a;
      if (i % 4 === 0) await api(via, 'POST', '/v1/routes', { upstreamId: up.id, paths: [`/c/${i}/`] });
      else await api(via, 'PUT', `/v1/upstreams/${up.id}/members`, { members: [{ host: '127.0.0.1', port: backendPort, weight: 1 + (i % 50) }] });
    }
    await api(a, 'POST', '/v1/routes', { upstreamId: up.id, paths: ['/caught-up/'] });
    const back = await timedStart(store, 'bench-c', ports, '/caught-up/');
    nodes.push(back.node);
    // The same start with no backlog: stopped and started again at once.
    await stopNode(back.node);
    nodes.splice(nodes.indexOf(back.node), 1);
    const plain = await timedStart(store, 'bench-c', ports, '/caught-up/');
    nodes.push(plain.node);
    const catchOk = back.ms <= BAR_CATCH_UP_MS;
    out('| start | spawn to serving the latest, ms | bar <= 2000 ms |\n|---|---|---|\n');
    out(`| after ${BACKLOG} writes | ${back.ms.toFixed(0)} | ${catchOk ? 'PASS' : 'MISS'} |\n`);
    out(`| no backlog (process start alone) | ${plain.ms.toFixed(0)} | |\n`);
    out(`\nBars: propagation ${propOk ? 'PASS' : 'MISS'}, catch-up ${catchOk ? 'PASS' : 'MISS'}.\n`);
  } finally {
    for (const n of nodes) await stopNode(n);
    backend.close();
    await sql(PG_URL, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }
  process.stdout.write(`\nwritten to ${writeResults('cluster-', report, 'cluster-latest.md')}\n`);

  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
  if (flags['no-apply']) return;
  if (scripts['bench:cluster:apply']) {
    process.stdout.write('\n## Apply cost (npm run bench:cluster:apply)\n');
    const r = spawnSync('npm', ['run', '--silent', 'bench:cluster:apply'], { stdio: 'inherit' });
    if (r.status !== 0) process.exitCode = r.status ?? 1;
  } else {
    process.stdout.write('\n(npm run bench:cluster:apply is not in package.json: the apply-cost bar is not measured here)\n');
  }
}

main().catch((err: unknown) => { console.error(err); process.exitCode = 1; });
