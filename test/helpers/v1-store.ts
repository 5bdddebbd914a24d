import Database from 'better-sqlite3';
import pg from 'pg';
import { newId, nowIso } from '../../src/model/ids.js';
import type { Kind, ObjectKinds, Upstream } from '../../src/model/types.js';
import { migratePostgres, migrateSqlite } from '../../src/store/migrations.js';
import { PG_URL } from './pg.js';

// A store as the release before Tencent ids left it: schema version 1, and rows with the
// columns that release wrote (no alias), its upstream documents without `tencentId`.

type OldUpstream = Omit<Upstream, 'tencentId'>;
type Obj = { [K in Kind]: { kind: K; obj: K extends 'upstream' ? OldUpstream : ObjectKinds[K] } }[Kind];

export interface V1Data {
  tenantId: string; projectId: string; instanceId: string; region: string; secretId: string; secretKey: string;
  /** Canonical ids of the upstreams, oldest first. */
  upstreamIds: string[];
  objects: Obj[];
}

/** A tenant with a key pair, its project and default instance in `region`, and `n` upstreams there. */
export function v1Data(region: string, memberPort: number, n = 2): V1Data {
  const at = nowIso();
  const tenantId = newId();
  const projectId = newId();
  const instanceId = newId();
  const secretId = `AKID${newId()}`;
  const secretKey = newId();
  const upstreams: OldUpstream[] = Array.from({ length: n }, (_, i) => ({
    id: newId(), tenantId, projectId, instanceId, name: `old-${i}`, description: 'written by the previous release', scheme: 'http', strategy: 'wrr',
    port: 0, retries: 3, upstreamHost: null, tlsVerify: true, failMode: 'open', memberType: 'ip', channelType: 'builtin', tags: [], networkId: 'vpc-old',
    healthCheck: null, memberGroups: [], ext: {}, createdAt: at, updatedAt: at,
    members: [{ id: newId(), host: '127.0.0.1', port: memberPort, weight: 10, backup: false, enabled: true, groupId: null, ecsId: '', ecsName: '', tags: [], ext: {}, createdAt: at }],
  }));
  const objects: Obj[] = [
    { kind: 'tenant', obj: { id: tenantId, name: `old-tenant-${tenantId}`, createdAt: at } },
    { kind: 'project', obj: { id: projectId, tenantId, region, createdAt: at } },
    { kind: 'instance', obj: { id: instanceId, name: `default-${region}`, region, isDefault: true, createdAt: at } },
    { kind: 'keypair', obj: { id: newId(), tenantId, secretId, secretKey, createdAt: at } },
    ...upstreams.map((u) => ({ kind: 'upstream' as const, obj: u })),
  ];
  return { tenantId, projectId, instanceId, region, secretId, secretKey, upstreamIds: upstreams.map((u) => u.id), objects };
}

/** The columns of one row, spelled as that release computed them (frozen here, whatever the store does now). */
function columns(o: Obj): unknown[] {
  const x = o.obj as unknown as Record<string, string>;
  // Only the kinds that release had.
  const unique: Partial<Record<Kind, string | null>> = {
    tenant: x.name!, project: `${x.tenantId}/${x.region}`, instance: null, keypair: x.secretId!, token: x.hash!,
    upstream: `${x.tenantId}/${x.instanceId}/${x.name}`, route: null,
  };
  const tenant = o.kind === 'tenant' ? x.id : o.kind === 'instance' ? null : x.tenantId ?? null;
  return [o.kind, x.id, tenant, o.kind === 'route' ? x.upstreamId : null, unique[o.kind] ?? null, x.createdAt, JSON.stringify(o.obj)];
}

/** Writes `data` into a new SQLite file at schema version 1. */
export function writeV1Sqlite(file: string, data: V1Data): void {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    migrateSqlite(db, 1);
    const ins = db.prepare('INSERT INTO objects (kind, id, tenant_id, upstream_id, unique_key, created_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?)');
    db.transaction(() => { for (const o of data.objects) ins.run(...columns(o)); db.prepare('UPDATE meta SET revision = 1').run(); })();
  } finally {
    db.close();
  }
}

/** Writes `data` into `schema` (created here) at schema version 1. */
export async function writeV1Postgres(schema: string, data: V1Data): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await c.connect();
  try {
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await migratePostgres(c, 1);
    for (const o of data.objects) {
      await c.query('INSERT INTO objects (kind, id, tenant_id, upstream_id, unique_key, created_at, doc) VALUES ($1, $2, $3, $4, $5, $6, $7)', columns(o));
    }
    await c.query('UPDATE meta SET revision = 1');
  } finally {
    await c.end();
  }
}
