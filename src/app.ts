import { isIP, type AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Proxy } from './model/gaap.js';
import { startL4Node, type L4Node } from './l4/node.js';
import { buildAdminServer } from './api/server.js';
import { bootstrapOperatorToken } from './control/operator.js';
import { openStore } from './store/open.js';
import { openPgRateLimits, type PgRateLimits } from './store/pg-rate-limit.js';
import type { Store, StoreTimeouts } from './store/store.js';
import { Runtime } from './runtime/runtime.js';
import { followStore } from './runtime/follow.js';
import { HealthChecker } from './health/checker.js';
import { probeAgent } from './health/probe.js';
import { TENCENT_DEFAULT_RATE, tencentDialect } from './api/tencent/plugin.js';
import { HUAWEI_DEFAULT_RATE, huaweiDialect } from './api/huawei/plugin.js';
import { DEFAULT_LIMITS, type Limits } from './control/upstreams.js';
import { gaapSettings, type GaapLimits, type GaapSettings } from './control/gaap.js';
import { failOpenLogger } from './proxy/fail-open-log.js';
import type { ProxyHooks } from './proxy/attempts.js';
import type { ProxyRuntime } from './proxy/pools.js';
import { MemberPools } from './proxy/lean/member-pool.js';
import { DEFAULT_LISTENER_LIMITS, perWorker, type ListenerLimits } from './proxy/limits.js';
import { startProxy, type ProxyServer } from './proxy/server.js';
import { startProxyWorkers, type ProxyWorkers } from './proxy/workers.js';
import { DataPlaneFeed } from './runtime/feed.js';
import { markApplied } from './control/gaap.js';
import { OPERATOR } from './control/scope.js';
import { nodeCache, startHeartbeat } from './store/nodes.js';
import { startHealthPublisher } from './health/publish.js';
import { clusterHealth } from './health/cluster.js';
import { startStatsPublisher } from './store/stats.js';
import { statsFlushMs } from './l4/stats.js';
import { DEFAULT_HEARTBEAT_MS, nodeLabels, type L7Scope } from './model/node.js';
import { VERSION } from './version.js';
import { hostname } from 'node:os';
import { METRICS_CONTENT_TYPE, metricsSource, ProcessMetrics, WORKER_SCRAPE_MS, type MetricsSource } from './metrics/registry.js';
import { HealthMetrics } from './metrics/health.js';
import { ControlMetrics } from './metrics/control.js';
import { statsReader } from './metrics/stats.js';
import { startMetricsServer, type MetricsServer } from './metrics/serve.js';
import type { L7Metrics } from './metrics/l7.js';
import { AccessLog, type AccessLogSettings } from './observe/access-log.js';
import { teeExchanges } from './observe/tee.js';

export interface HostPort { host: string; port: number }

export interface SluiceOptions {
  dataDir: string;
  /** postgres://... for PostgreSQL; absent for the embedded SQLite store in dataDir. */
  storeUrl?: string;
  /** Deadlines of store calls (defaults: 5000 ms per call, 3000 ms to connect). */
  storeTimeouts?: Partial<StoreTimeouts>;
  admin: HostPort;
  proxy: HostPort;
  logger: Logger;
  adminToken?: string;
  defaultRegion?: string;
  /** How long shutdown waits for in-flight requests. */
  shutdownGraceMs?: number;
  /**
   * How long DeleteListeners and DestroyProxies let a GAAP listener's open connections and UDP
   * sessions drain before the rest are reset (CLI default 30 s; 0: reset at once).
   */
  l4DrainMs?: number;
  /** Proxy listener timeouts and connection caps, for the whole node (split over workers). */
  listenerLimits?: Partial<ListenerLimits>;
  /** Proxy worker processes; 1 (default) serves in this process. */
  workers?: number;
  /** Log level handed to workers. */
  logLevel?: string;
  /** Serve the admin API over HTTPS with this certificate and key (PEM). */
  adminTls?: { cert: string; key: string };
  /** The gateway's client certificate for two-way TLS to members (PEM), used by HTTPS health probes that ask for it. */
  upstreamClientCert?: { cert: string; key: string };
  /** Tencent dialect: requests per second per tenant and action before RequestLimitExceeded (default 20, as Tencent documents). */
  tencentRatePerSecond?: number;
  /** Huawei dialect: requests per second per tenant and operation before APIG.9008 (default 100). */
  huaweiRatePerSecond?: number;
  /** GAAP quotas (proxies per group and per tenant, listeners per proxy, origins per listener, ports per call). */
  gaapLimits?: Partial<GaapLimits>;
  /** Quotas (upstreams per tenant and instance, members per upstream); defaults: 30 and 1000. */
  limits?: Partial<Limits>;
  /**
   * Another subscriber to every attempt on a member, after passive health (metrics, tests).
   * Attempts made in proxy workers (workers > 1) stay in the workers and are not seen here.
   */
  onAttempt?: ProxyHooks['onAttempt'];
  /**
   * The access region whose GAAP proxies this node's L4 plane serves (default: defaultRegion).
   * null: none (a node that only answers the APIs; the proxies wait for the node that serves
   * their region to report them applied).
   */
  nodeRegion?: string | null;
  /** The regions whose L7 routes this node serves (default null: every region). */
  l7Regions?: L7Scope;
  /** The node's name in the registry (default: the host name). */
  nodeName?: string;
  /** How often the node beats to the registry (default 5000 ms; tests shorten it). */
  heartbeatMs?: number;
  /** GET /metrics on its own listener, without a token (default: none; the admin listener serves it with the token). */
  metricsListen?: HostPort;
  /** Access lines (L7 requests, L4 connections and sessions); null or absent: none. With workers each writes its own. */
  accessLog?: AccessLogSettings | null;
}

export interface Sluice {
  store: Store;
  /** The GAAP catalogue defaults in force (tests place regions with them). */
  gaap: GaapSettings;
  /** The data plane's config view (tests read its revision). */
  runtime: ProxyRuntime;
  /** The node's health authority. */
  health: HealthChecker;
  /** The node's L4 side (null when it serves no region): its plane is null with workers (each has its own). */
  l4: L4Node | null;
  admin: FastifyInstance;
  adminPort: number;
  proxyPort: number;
  /** Printed once when the store had no operator token and none was given. */
  generatedAdminToken: string | null;
  /** This process's id in the node registry. */
  nodeId: string;
  /** The node's metrics (the workers' merged in). */
  metrics: MetricsSource;
  /** The --metrics-listen port, or null. */
  metricsPort: number | null;
  /** Reopens the access-log file in this process and every worker (SIGHUP, after logrotate). */
  reopenLogs(): void;
  close(): Promise<void>;
}

/**
 * Passive health hears every attempt (it ignores members it does not check passively); an
 * extra subscriber is chained only when there is one, so the usual hook is one call.
 */
function attemptSubscribers(health: HealthChecker, l7: L7Metrics, extra: ProxyHooks['onAttempt'] | undefined): ProxyHooks['onAttempt'] {
  if (!extra) {
    return (t, outcome, status) => {
      health.outcome(t.stateKey, outcome, status);
      l7.attempt(t, outcome, status);
    };
  }
  return (t, outcome, status, start) => {
    health.outcome(t.stateKey, outcome, status);
    l7.attempt(t, outcome, status);
    extra(t, outcome, status, start);
  };
}

export async function startSluice(opts: SluiceOptions): Promise<Sluice> {
  const log = opts.logger;
  const store = await openStore({ url: opts.storeUrl, dataDir: opts.dataDir, timeouts: opts.storeTimeouts, logger: log });
  const generatedAdminToken = await bootstrapOperatorToken(store, opts.adminToken, log);

  const l7Scope = opts.l7Regions ?? null;
  const runtime: ProxyRuntime = new Runtime({ logger: log, pools: new MemberPools(), l7Scope });
  const defaultRegion = opts.defaultRegion ?? 'default';
  // The L4 plane settles each proxy's task once its sockets say so (CREATING -> RUNNING...).
  const settle = (proxyId: string, status: Proxy['status']): Promise<boolean> => markApplied(store, OPERATOR, proxyId, status).then(() => true, (err: unknown) => {
    log.warn({ err, proxy: proxyId, status }, 'could not report an applied L4 proxy; trying again');
    return false;
  });
  const count = opts.workers ?? 1;
  const nodeRegion = opts.nodeRegion === undefined ? defaultRegion : opts.nodeRegion;
  const nodeName = opts.nodeName ?? hostname();
  // With workers the L7 series live in them; health and control are the primary's alone.
  const own = new ProcessMetrics(count === 1);
  const control = new ControlMetrics(own.registry, { version: VERSION, name: nodeName, region: nodeRegion ?? '' });
  const l7 = own.l7;
  if (l7) runtime.onSnapshot((s) => l7.sync(s));
  const drainMs = opts.l4DrainMs ?? 30_000;
  let workers: ProxyWorkers | null = null;
  // With workers the data planes and so the lines are theirs: each opens the log itself.
  const access = opts.accessLog && count === 1 ? new AccessLog(opts.accessLog, log) : null;
  const l4 = nodeRegion === null ? null : startL4Node({
    region: nodeRegion, logger: log, drainMs, inWorkers: count > 1, settle, broadcastHealth: (u) => workers?.broadcastHealth(u),
    sessions: access?.l4 ?? null,
  });
  // With workers the L4 plane, and so its series, live in them.
  if (l4?.plane) own.l4(l4.plane);
  // One health authority per node: it follows the primary's snapshots, and its verdicts go
  // to this process's data plane and to every worker.
  const health = new HealthChecker(log, (u) => {
    runtime.setHealth(u);
    workers?.broadcastHealth(u);
  }, opts.upstreamClientCert ?? null, probeAgent(nodeName), new HealthMetrics(own.registry));
  runtime.onSnapshot((s) => health.sync(s));
  // In a cluster (PostgreSQL) this node's verdicts go to the health table as they change, for
  // the other nodes' APIs; with workers they are the primary's, whose checkers decide. A
  // SQLite store has one node: nothing to tell.
  const publisher = store.kind === 'postgres' ? startHealthPublisher(store, log) : null;
  if (publisher) {
    health.onChange((key) => publisher.mark(key, health));
    const l4Health = l4?.health;
    l4Health?.onChange((key) => publisher.mark(key, l4Health));
  }
  let self: { id: string; name: string } | null = null;
  const reporter = clusterHealth({ store, nodes: nodeCache(store), local: health, localL4: l4?.reporter ?? null, self: () => self, log });
  let heartbeat: { poke(): void } | null = null;
  const feed = new DataPlaneFeed(runtime, l4);
  const follower = followStore(store, {
    full(c) {
      feed.full(c);
      workers?.broadcastConfig(c);
      heartbeat?.poke();
    },
    delta(d) {
      const ok = feed.delta(d);
      workers?.broadcastDelta(d);
      heartbeat?.poke();
      return ok;
    },
  }, (err) => {
    control.followerError();
    log.error({ err }, 'could not load config; serving the last snapshot');
  }, { logger: log, onApplied: (a) => control.applied(a) });
  await follower.ready;
  const listener: ListenerLimits = { ...DEFAULT_LISTENER_LIMITS, ...opts.listenerLimits };
  let proxy: ProxyServer;
  if (count > 1) {
    workers = await startProxyWorkers({
      count, host: opts.proxy.host, port: opts.proxy.port, logger: log, logLevel: opts.logLevel ?? 'info',
      limits: perWorker(listener, count),
      config: () => feed.index.config(),
      onAcknowledged: () => heartbeat?.poke(),
      verdicts: () => [...health.verdicts(), ...(l4?.health.verdicts() ?? [])],
      onOutcome: (key, outcome, status) => health.outcome(key, outcome, status),
      l4: nodeRegion === null ? null : { region: nodeRegion, drainMs },
      l7Regions: l7Scope === null ? null : [...l7Scope],
      onL4Applied: settle,
      onL4Listener: (id, report) => l4?.workerListener(id, report),
      onL4Stats: (rows) => l4?.workerStats(rows),
      accessLog: opts.accessLog ?? null,
    });
    proxy = workers;
  } else {
    proxy = await startProxy({
      host: opts.proxy.host, port: opts.proxy.port, runtime, logger: log, limits: listener,
      hooks: { onAttempt: attemptSubscribers(health, l7!, opts.onAttempt), failOpen: failOpenLogger(log), exchanges: teeExchanges(l7, access?.l7 ?? null) },
    });
  }
  const pool = workers;
  const metrics = metricsSource(own.registry, pool === null ? null : () => pool.metrics(WORKER_SCRAPE_MS));

  const limits: Limits = { ...DEFAULT_LIMITS, ...opts.limits };
  // Until the operator stores a catalogue, GAAP offers one region (the gateway's) whose
  // proxies take the proxy listener's address; a host name there gives loopback.
  const gaap = gaapSettings({ defaultRegion, defaultPool: [isIP(opts.proxy.host) ? opts.proxy.host : '127.0.0.1'], limits: opts.gaapLimits });
  // On PostgreSQL the dialects' per-tenant rates hold across every node of the cluster;
  // on SQLite (one node) they are counted in this process.
  const rates: PgRateLimits | null = store.kind === 'postgres' && opts.storeUrl
    ? await openPgRateLimits(opts.storeUrl, { ...opts.storeTimeouts, logger: log })
    : null;
  const tencentRate = opts.tencentRatePerSecond ?? TENCENT_DEFAULT_RATE;
  const huaweiRate = opts.huaweiRatePerSecond ?? HUAWEI_DEFAULT_RATE;
  const admin = await buildAdminServer({
    store, logger: log, defaultRegion, health: reporter, limits, gaap, tls: opts.adminTls, l4: reporter,
    metrics: { contentType: METRICS_CONTENT_TYPE, text: () => metrics.text() }, stats: statsReader(metrics), observer: control,
    dialects: [tencentDialect({ store, limits, health: reporter, defaultRegion, gaap, ratePerSecond: tencentRate, rateLimiter: rates?.limiter('tencent', tencentRate), l4: reporter, observer: control }),
      huaweiDialect({ store, limits, health: reporter, ratePerSecond: huaweiRate, rateLimiter: rates?.limiter('huawei', huaweiRate), observer: control })],
  });
  await admin.listen({ host: opts.admin.host, port: opts.admin.port });
  const metricsServer: MetricsServer | null = opts.metricsListen ? await startMetricsServer(opts.metricsListen.host, opts.metricsListen.port, metrics, log) : null;
  // The revision every copy of the data plane runs: this process's and each live worker's.
  const appliedRevision = (): number => Math.min(runtime.snapshot.revision, workers?.appliedRevision() ?? Infinity);
  const node = await startHeartbeat(store, {
    name: nodeName, version: VERSION, labels: nodeLabels(nodeRegion, l7Scope),
  }, opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, appliedRevision, log);
  heartbeat = node;
  self = { id: node.id, name: nodeName };
  publisher?.start(node.id);
  if (store.kind === 'postgres') reporter.start();
  l4?.setNodeId(node.id);
  const stats = l4 ? startStatsPublisher(store, l4.book, node.id, statsFlushMs(), log) : null;
  const adminPort = (admin.server.address() as AddressInfo).port;
  log.info({ admin: `${opts.admin.host}:${adminPort}`, metrics: metricsServer ? `${opts.metricsListen!.host}:${metricsServer.port}` : null, adminTls: opts.adminTls !== undefined, proxy: `${opts.proxy.host}:${proxy.port}`, store: store.kind, workers: count, node: node.id }, 'sluice started');

  let closing: Promise<void> | null = null;
  return {
    store, gaap, runtime, health, l4, admin, adminPort, proxyPort: proxy.port, generatedAdminToken, nodeId: node.id,
    metrics, metricsPort: metricsServer?.port ?? null,
    reopenLogs() {
      access?.reopen();
      workers?.reopenLogs();
    },
    close() {
      closing ??= (async () => {
        const grace = opts.shutdownGraceMs ?? 10_000;
        reporter.stop();
        // The last batch lands before the node's rows are forgotten with it, not after.
        const leave = (async () => { await publisher?.stop(); await node.stop(); })();
        await Promise.allSettled([proxy.close(grace), l4?.close(grace), admin.close(), leave, metricsServer?.close()]);
        // Every exchange and connection has ended: their lines are the last.
        await access?.close();
        // The minutes counted up to the end stay readable from the other nodes.
        await stats?.flush();
        await stats?.stop();
        await rates?.close();
        follower.stop();
        health.close();
        runtime.close();
        await store.close();
        log.info('sluice stopped');
      })();
      return closing;
    },
  };
}
