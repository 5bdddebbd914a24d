import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { startSluiceProcess, type SluiceProcess } from './cli.js';
import { operatorApi, type ApiResult } from './gateway.js';
import { members, startBackends, type Backend } from './backends.js';
import { PG_URL, pgAvailable, pgQuery, pgTestSchema } from './pg.js';
import { until } from './wait.js';

/** How long a change may take to reach another node in these tests: generous, bounded. */
export const PROPAGATION_MS = 15_000;

/** One `sluice start` of a cluster: its operator API, its traffic, its log lines from the start on. */
export interface ClusterNode extends SluiceProcess {
  name: string;
  api<T = any>(method: string, path: string, body?: unknown): Promise<ApiResult<T>>;
  /** Log records after the start line, as they come. */
  logs: { msg: string; level: number; [k: string]: unknown }[];
  /** Which backend answers GET `path` through this node's proxy (its x-backend header), or the status when none does. */
  served(path?: string): Promise<string>;
  /** SIGTERM, and waits for the exit (a clean stop: the node leaves the registry). */
  stop(): Promise<void>;
}

export interface NodeOut { id: string; name: string; labels: Record<string, string>; appliedRevision: number; status: string }

/**
 * From a paused node's resume to its serving what was written meanwhile: a reconnect
 * (100-200 ms) or a queued notice, and one read, with room for a loaded machine; well inside
 * the follower's 30 s resync (runtime/follow.ts), so that a node that caught up only on its
 * resync fails such a wait about five times in six.
 */
export const CATCH_UP_MS = 5000;

/** Short beats, so that a killed node is shown down within a second or so. */
export const SHORT_BEATS = { SLUICE_HEARTBEAT_MS: '200' };

/** Skips the test (true) when PostgreSQL does not answer; fails instead when SLUICE_TEST_PG=1 (pgAvailable). */
export async function pgMissing(t: { skip(message: string): void }): Promise<boolean> {
  if (await pgAvailable()) return false;
  t.skip('PostgreSQL not reachable');
  return true;
}

/** The body of an operator API answer, which must have `status`. */
export async function ok(r: Promise<ApiResult>, status: number): Promise<any> {
  const res = await r;
  assert.equal(res.status, status, JSON.stringify(res.body));
  return res.body;
}

export interface NodeSpec { name: string; region?: string }

/**
 * Nodes on a schema of their own and named backends, for a describe: up() starts them all
 * at once on the empty schema (they take turns migrating it, and register the same operator
 * token), down() stops everything and drops the schema.
 */
export function clusterFixture(specs: NodeSpec[], backendNames: string[] = [], env: Record<string, string> = SHORT_BEATS) {
  const c = { nodes: [] as ClusterNode[], backends: [] as Backend[], url: '', drop: null as (() => Promise<void>) | null };
  const up = async () => {
    const s = await clusterStore();
    c.url = s.url;
    c.drop = s.drop;
    c.backends = await startBackends(backendNames);
    c.nodes = await Promise.all(specs.map((n) => startNode(s.url, n.name, { region: n.region, env })));
    return c.nodes;
  };
  const down = async () => {
    for (const n of c.nodes) await n.cleanup();
    for (const b of c.backends) await b.close();
    await c.drop?.();
  };
  return { c, up, down };
}

/** A schema of its own on the test server, as the URL a node's --store takes; drop() removes it. */
export async function clusterStore(): Promise<{ url: string; schema: string; drop: () => Promise<void> }> {
  const s = await pgTestSchema();
  const u = new URL(PG_URL);
  u.searchParams.set('options', `-c search_path=${s.schema}`);
  return { url: u.toString(), ...s };
}

/** `sluice start` on the cluster's store, named `name`, in `region` when given. */
export async function startNode(storeUrl: string, name: string, opts: { region?: string; env?: Record<string, string> } = {}): Promise<ClusterNode> {
  const args = ['--store', storeUrl, '--node-name', name, ...(opts.region ? ['--region', opts.region] : [])];
  const p = await startSluiceProcess(args, opts.env);
  const logs: ClusterNode['logs'] = [];
  p.lines.on('line', (l) => { try { logs.push(JSON.parse(l)); } catch { /* not a record */ } });
  const api = operatorApi(p.adminUrl, p.token);
  return {
    ...p, name, api, logs,
    async served(path = '/') {
      const res = await fetch(p.proxyUrl + path);
      await res.arrayBuffer();
      return res.headers.get('x-backend') ?? String(res.status);
    },
    async stop() {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return;
      const exited = once(p.child, 'exit');
      p.child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function nodesSeenBy(n: ClusterNode): Promise<NodeOut[]> {
  const r = await n.api<{ items: NodeOut[] }>('GET', '/v1/nodes');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.items;
}

/** The cluster's revision, read from the database. */
export async function storeRevision(storeUrl: string): Promise<number> {
  return Number((await pgQuery<{ revision: string }>(storeUrl, 'SELECT revision FROM meta'))[0]!.revision);
}

/** Waits until every node's proxy answers GET `path` from `backend`. */
export async function allServe(nodes: ClusterNode[], backend: string, path = '/', ms = PROPAGATION_MS): Promise<void> {
  for (const n of nodes) {
    let last = '';
    await until(`${n.name} serving ${path} from ${backend}`, async () => (last = await n.served(path)) === backend, ms)
      .catch(() => assert.fail(`${n.name} serves ${path} from ${last}, not ${backend}, after ${ms} ms`));
  }
}

/** Waits until `observer` lists `name` with `status` and, when given, at `revision`. */
export async function nodeShown(observer: ClusterNode, name: string, want: { status: string; revision?: number }, ms = PROPAGATION_MS): Promise<NodeOut> {
  let last: NodeOut | undefined;
  const ok = async () => {
    last = (await nodesSeenBy(observer)).find((x) => x.name === name);
    return last && last.status === want.status && (want.revision === undefined || last.appliedRevision === want.revision) ? last : null;
  };
  return until(`${observer.name} shows ${name} ${JSON.stringify(want)}`, ok, ms)
    .catch(() => assert.fail(`${observer.name} shows ${name} as ${JSON.stringify(last)}, not ${JSON.stringify(want)}`));
}

interface TcpSocket { localIp: string; localPort: number; remotePort: number; listening: boolean }

/** The process's IPv4 TCP sockets (from /proc: its fds' inodes in /proc/net/tcp; no tool needed). */
function tcpSocketsOf(pid: number): TcpSocket[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch { /* closed meanwhile */ }
  }
  const out: TcpSocket[] = [];
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10 || !inodes.has(cols[9]!)) continue;
    const [ipHex, portHex] = cols[1]!.split(':') as [string, string];
    // The address is the kernel's 32-bit word in host (little-endian) order.
    const localIp = [3, 2, 1, 0].map((i) => parseInt(ipHex.slice(i * 2, i * 2 + 2), 16)).join('.');
    out.push({ localIp, localPort: parseInt(portHex, 16), remotePort: parseInt(cols[2]!.split(':')[1]!, 16), listening: cols[3] === '0A' });
  }
  return out;
}

/** Whether the node's process holds a listening TCP socket on `ip`:`port`. */
export function listensOn(node: ClusterNode, ip: string, port: number): boolean {
  return tcpSocketsOf(node.child.pid!).some((s) => s.listening && s.localIp === ip && s.localPort === port);
}

/**
 * The server backend of `node`'s change-feed (LISTEN) connection, found by the node's own
 * sockets, so that nodes of other tests on the same server are never taken for it.
 */
export async function listenerBackendOf(node: ClusterNode, storeUrl: string): Promise<number | null> {
  const server = Number(new URL(storeUrl).port || 5432);
  const ports = tcpSocketsOf(node.child.pid!).filter((s) => s.remotePort === server).map((s) => s.localPort);
  const rows = await pgQuery<{ pid: number }>(storeUrl, "SELECT pid FROM pg_stat_activity WHERE application_name = 'sluice listener' AND client_port = ANY($1::int[])", [ports]);
  return rows.length === 1 ? rows[0]!.pid : null;
}

/** A tenant, an upstream of `first` and a route of every path to it, written through `via`. */
export async function expose(via: ClusterNode, first: Backend): Promise<{ tenantId: string; upstreamId: string }> {
  const tenant = await ok(via.api('POST', '/v1/tenants', { name: 'cluster' }), 201);
  const up = await ok(via.api('POST', '/v1/upstreams', { tenantId: tenant.id, name: 'web', members: members([first]) }), 201);
  await ok(via.api('POST', '/v1/routes', { upstreamId: up.id, paths: ['/'] }), 201);
  return { tenantId: tenant.id, upstreamId: up.id };
}

/** Replaces the upstream's members with `to`, through `via`. */
export async function moveTo(via: ClusterNode, upstreamId: string, to: Backend): Promise<void> {
  await ok(via.api('PUT', `/v1/upstreams/${upstreamId}/members`, { members: members([to]) }), 200);
}
