import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSluice, type Sluice, type SluiceOptions } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { startHeartbeat } from '../../src/store/nodes.js';
import type { Store } from '../../src/store/store.js';

export const OPERATOR_TOKEN = 'operator-token-for-tests-0123456789';

export interface ApiResult<T = any> { status: number; body: T }

/** A whole sluice (admin API, store, data plane) on 127.0.0.1 port 0 with a fresh SQLite file. */
export interface TestGateway {
  sluice: Sluice;
  proxyUrl: string;
  adminUrl: string;
  api<T = any>(method: string, path: string, body?: unknown): Promise<ApiResult<T>>;
  /** A tenant for the test's upstreams. */
  tenantId: string;
  /** Creates an upstream and a route to it; returns the upstream. */
  expose(upstream: Record<string, unknown>, route?: Record<string, unknown>): Promise<any>;
  /** Resolves once the data plane runs at least the store's current revision. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** Calls of the operator API at `adminUrl` with `token`: the status and the parsed body. */
export function operatorApi(adminUrl: string, token: string): <T = any>(method: string, path: string, body?: unknown) => Promise<ApiResult<T>> {
  return async (method, path, body) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(adminUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
}

export async function startTestGateway(extra: Partial<SluiceOptions> = {}): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-gw-'));
  const sluice = await startSluice({
    dataDir: dir, admin: { host: '127.0.0.1', port: 0 }, proxy: { host: '127.0.0.1', port: 0 },
    logger: createLogger('silent'), adminToken: OPERATOR_TOKEN, shutdownGraceMs: 1000, ...extra,
  });
  const adminUrl = `http://127.0.0.1:${sluice.adminPort}`;
  const api = operatorApi(adminUrl, OPERATOR_TOKEN);
  const tenant = await api('POST', '/v1/tenants', { name: 'proxy-tests' });
  if (tenant.status !== 201) throw new Error(`tenant: ${JSON.stringify(tenant.body)}`);
  const settled = async () => {
    const want = await sluice.store.revision();
    for (let i = 0; i < 200 && sluice.runtime.snapshot.revision < want; i++) await new Promise((r) => setTimeout(r, 5));
    if (sluice.runtime.snapshot.revision < want) throw new Error(`data plane stuck at ${sluice.runtime.snapshot.revision} < ${want}`);
  };
  let seq = 0;
  return {
    sluice, adminUrl, api, settled, tenantId: tenant.body.id,
    proxyUrl: `http://127.0.0.1:${sluice.proxyPort}`,
    async expose(upstream, route = {}) {
      const u = await api('POST', '/v1/upstreams', { tenantId: tenant.body.id, name: `u${++seq}`, ...upstream });
      if (u.status !== 201) throw new Error(`upstream: ${JSON.stringify(u.body)}`);
      const r = await api('POST', '/v1/routes', { upstreamId: u.body.id, ...route });
      if (r.status !== 201) throw new Error(`route: ${JSON.stringify(r.body)}`);
      await settled();
      return u.body;
    },
    async close() { await sluice.close(); await rm(dir, { recursive: true, force: true }); },
  };
}

/**
 * Registry rows for the nodes of `regions`, for a test that plays those nodes itself (it
 * reports their proxies applied with markApplied): a RUNNING proxy reads as not running while
 * no live node serves its access region. Real heartbeats; the stop removes the rows.
 */
export async function standInNodes(store: Store, regions: readonly string[]): Promise<() => Promise<void>> {
  const quiet = { warn: () => undefined, info: () => undefined };
  const beats = await Promise.all(regions.map((region) =>
    startHeartbeat(store, { name: `stand-in-${region}`, labels: { region }, version: 'test' }, 60_000, () => 0, quiet)));
  return async () => { for (const b of beats) await b.stop(); };
}
