// Apply cost of the incremental follower: with 100, 1,000 and 10,000 upstreams (each with a
// route) configured on PostgreSQL, one upstream's member weight is changed 200 times through
// the store, and the follower's onApplied time (read started -> snapshot swapped) is recorded
// on a node wired as app.ts wires it (Runtime, HealthChecker, no workers). Bars (README,
// issue 16): the 10,000 p50 within 2 x the 100 one, and under 5 ms. Each size on a private
// schema of the machine's PostgreSQL, dropped after.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { HealthChecker } from '../src/health/checker.js';
import { createLogger } from '../src/logger.js';
import { derivedTencentUpstreamId } from '../src/model/ids.js';
import type { Route, Upstream } from '../src/model/types.js';
import { MemberPools } from '../src/proxy/lean/member-pool.js';
import { DataPlaneFeed } from '../src/runtime/feed.js';
import { followStore, type AppliedInfo } from '../src/runtime/follow.js';
import { Runtime } from '../src/runtime/runtime.js';
import { PostgresStore } from '../src/store/postgres.js';

const PG_URL = process.env.SLUICE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SIZES = [100, 1000, 10_000];
const CHANGES = 200;
const BATCH = 1000;

function upstream(i: number, now: string): Upstream {
  const id = `u${String(i).padStart(6, '0')}`;
  return {
    id, tencentId: derivedTencentUpstreamId(id, 0), tenantId: 't', projectId: 'p', instanceId: 'i', name: id, description: '', scheme: 'http', strategy: 'wrr', port: 0,
    retries: 3, upstreamHost: null, tlsVerify: true, failMode: 'open', memberType: 'ip', channelType: 'builtin', tags: [], networkId: '',
    healthCheck: null, memberGroups: [], ext: {}, createdAt: now, updatedAt: now,
    members: [0, 1].map((m) => ({ id: `m${m}`, host: `127.0.${m + 1}.${1 + (i % 250)}`, port: 10_000 + (i % 1000), weight: 10, backup: false, enabled: true, groupId: null, ecsId: '', ecsName: '', tags: [], ext: {}, createdAt: now })),
  };
}

function route(u: Upstream, now: string): Route {
  return { id: `r-${u.id}`, tenantId: 't', upstreamId: u.id, name: u.id, hosts: [`${u.id}.bench`], paths: [], methods: [], stripPrefix: false, timeoutMs: 60_000, ext: {}, createdAt: now, updatedAt: now };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(size: number): Promise<{ p50: number; p99: number; max: number }> {
  const schema = `sluice_bench_${randomBytes(6).toString('hex')}`;
  const store = await PostgresStore.open(PG_URL, { schema, timeoutMs: 60_000 });
  const logger = createLogger('silent');
  const runtime = new Runtime({ logger, pools: new MemberPools() });
  const health = new HealthChecker(logger, (u) => runtime.setHealth(u));
  runtime.onSnapshot((s) => health.sync(s));
  let follower: { stop(): void } | null = null;
  try {
    const now = new Date().toISOString();
    for (let from = 0; from < size; from += BATCH) {
      await store.transact(async (tx) => {
        for (let i = from; i < Math.min(size, from + BATCH); i++) {
          const u = upstream(i, now);
          await tx.put('upstream', u);
          await tx.put('route', route(u, now));
        }
      });
    }
    // As a running cluster has it: the feed pruned through what the nodes applied (the
    // heartbeat does it every minute) and the planner's statistics current (autovacuum does
    // it); a bulk load seconds old has neither, and its feed rows would be read by a scan.
    await store.prune(await store.revision());
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`VACUUM ANALYZE ${schema}.changes, ${schema}.objects`);
    await admin.end();
    const times: number[] = [];
    let waiting: { revision: number; done: () => void } | null = null;
    const onApplied = (a: AppliedInfo) => {
      if (!a.full) times.push(a.ms);
      if (waiting && a.revision >= waiting.revision) waiting.done();
    };
    const f = followStore(store, new DataPlaneFeed(runtime, null), (err) => { throw err; }, { onApplied });
    follower = f;
    await f.ready;
    if (runtime.snapshot.upstreams.size !== size) throw new Error(`loaded ${runtime.snapshot.upstreams.size} upstreams, not ${size}`);
    for (let n = 0; n < CHANGES; n++) {
      const id = upstream(Math.floor(Math.random() * size), now).id;
      const applied = new Promise<void>((resolve) => { waiting = { revision: Number.MAX_SAFE_INTEGER, done: resolve }; });
      const revision = await store.transact(async (tx) => {
        const u = (await tx.get('upstream', id))!;
        await tx.put('upstream', { ...u, members: u.members.map((m, i) => (i === 0 ? { ...m, weight: 1 + (n % 100) } : m)) });
      }).then(() => store.revision());
      if (runtime.snapshot.revision < revision) { waiting!.revision = revision; await applied; }
      if (runtime.snapshot.upstreams.get(id)!.upstream.members[0]!.weight !== 1 + (n % 100)) throw new Error('the change did not reach the runtime');
    }
    const sorted = times.sort((a, b) => a - b);
    return { p50: pct(sorted, 50), p99: pct(sorted, 99), max: sorted.at(-1)! };
  } finally {
    follower?.stop();
    health.close();
    runtime.close();
    await store.close();
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  }
}

const results = new Map<number, { p50: number; p99: number; max: number }>();
for (const size of SIZES) {
  const r = await measure(size);
  results.set(size, r);
  console.log(`${String(size).padStart(6)} upstreams: apply p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  max ${r.max.toFixed(2)} ms  (${CHANGES} changes)`);
}
const small = results.get(SIZES[0]!)!.p50;
const large = results.get(SIZES.at(-1)!)!.p50;
const ratio = large / small;
console.log(`p50 ratio ${SIZES.at(-1)} / ${SIZES[0]}: ${ratio.toFixed(2)} (bar <= 2); p50 at ${SIZES.at(-1)}: ${large.toFixed(2)} ms (bar < 5 ms)`);
const ok = ratio <= 2 && large < 5;
console.log(ok ? 'apply cost: bars met' : 'apply cost: BARS MISSED');
process.exitCode = ok ? 0 : 1;
