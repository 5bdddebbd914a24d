// Entry point of a proxy worker (node:cluster): runs the data plane only, on the config
// the primary sends; the store, the admin API and health probing stay in the primary.
import { createLogger } from '../logger.js';
import { Runtime } from '../runtime/runtime.js';
import { DataPlaneFeed } from '../runtime/feed.js';
import { failOpenLogger } from './fail-open-log.js';
import { MemberPools } from './lean/member-pool.js';
import type { ProxyHooks } from './attempts.js';
import { startProxy, type ProxyServer } from './server.js';
import type { FromWorker, ToWorker, WorkerSetup } from './worker-protocol.js';
import { L4Plane } from '../l4/plane.js';
import { isL4StateKey } from '../l4/plan.js';
import { workerOf } from '../l4/spread.js';
import { ProcessMetrics } from '../metrics/registry.js';
import { AccessLog } from '../observe/access-log.js';
import { teeExchanges } from '../observe/tee.js';

const setup = JSON.parse(process.env.SLUICE_WORKER_SETUP ?? '{}') as WorkerSetup;
const logger = createLogger(setup.logLevel ?? 'info').child({ worker: process.pid });
const runtime = new Runtime({ logger, pools: new MemberPools(), l7Scope: setup.l7Regions === null ? null : new Set(setup.l7Regions) });
let proxy: ProxyServer | null = null;
// This worker's series; the primary merges every worker's into one scrape.
const metrics = new ProcessMetrics(true);
const l7 = metrics.l7!;
runtime.onSnapshot((s) => l7.sync(s));
// Each worker appends its own lines (whole lines per write: see observe/access-log.ts).
const access = setup.accessLog ? new AccessLog(setup.accessLog, logger) : null;
// Set by the first config: a second one may come before the listener is up (a delta that
// reached the worker before its first config asks for the whole config again), and a
// second listen in one worker would bind anew (EADDRINUSE on a fixed port).
let listening = false;

function send(m: FromWorker): void { process.send?.(m); }

// The L4 proxies of this worker's slot; the primary settles their tasks in the store.
let seq = 0;
const acks = new Map<number, (ok: boolean) => void>();
const l4 = setup.l4 === null ? null : new L4Plane({
  region: setup.l4.region, logger, drainMs: setup.l4.drainMs,
  serves: (id) => workerOf(id, setup.count) === setup.index,
  onApplied: (proxyId, status) => new Promise<boolean>((resolve) => {
    const n = ++seq;
    acks.set(n, resolve);
    send({ type: 'l4-applied', seq: n, proxyId, status });
  }),
  onListenerReport: (id, report) => send({ type: 'l4-listener', id, report }),
  onStats: (rows) => send({ type: 'l4-stats', rows }),
  sessions: access?.l4 ?? null,
});
if (l4) metrics.l4(l4);

// Passive health input goes to the primary, for upstreams with passive checks only. Plain
// successes are sent only after a failure (they reset its counters); sending every success
// would put each request on the IPC channel.
const failing = new Set<string>();
const passive = (upstreamId: string): boolean => runtime.snapshot.upstreams.get(upstreamId)?.upstream.healthCheck?.passive === true;
const hooks: ProxyHooks = {
  onAttempt(t, outcome, status) {
    l7.attempt(t, outcome, status);
    if (outcome === 'ok' && status < 400) {
      if (failing.size === 0 || !failing.delete(t.stateKey)) return;
    } else if (passive(t.upstreamId)) failing.add(t.stateKey);
    else return;
    send({ type: 'outcome', key: t.stateKey, outcome, status });
  },
  failOpen: failOpenLogger(logger),
  exchanges: teeExchanges(l7, access?.l7 ?? null),
};

const feed = new DataPlaneFeed(runtime, l4);

process.on('message', (m: ToWorker) => {
  if (m.type === 'delta') {
    if (feed.delta(m.delta)) send({ type: 'applied', revision: runtime.snapshot.revision });
    else send({ type: 'need-config' });
  } else if (m.type === 'config') {
    feed.full(m.config);
    send({ type: 'applied', revision: runtime.snapshot.revision });
    // Listen only once there is a config to serve: no window of 404s at start.
    if (!listening) {
      listening = true;
      void startProxy({ host: setup.host, port: setup.port, runtime, logger, hooks, exclusive: false, limits: setup.limits }).then((p) => {
        proxy = p;
        send({ type: 'listening', port: p.port });
      }, (err: unknown) => {
        logger.error({ err }, 'proxy worker could not listen');
        process.exit(1);
      });
    }
  } else if (m.type === 'health') {
    for (const u of m.updates) {
      if (isL4StateKey(u.key)) l4?.setHealth(u);
      else runtime.setHealth(u);
    }
  } else if (m.type === 'metrics') {
    void metrics.registry.getMetricsAsJSON().then((all) => send({ type: 'metrics', seq: m.seq, metrics: all }));
  } else if (m.type === 'l4-ack') {
    acks.get(m.seq)?.(m.ok);
    acks.delete(m.seq);
  } else if (m.type === 'reopen-log') {
    access?.reopen();
  } else if (m.type === 'shutdown') {
    void Promise.allSettled([proxy?.close(m.graceMs), l4?.close(m.graceMs)])
      .then(() => access?.close())
      .finally(() => {
        runtime.close();
        process.exit(0);
      });
  }
});
// A signal to the whole process group (Ctrl-C, systemd's stop) reaches the workers too: the
// primary's 'shutdown' message drives their drain, so the signal itself must not end them.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
// SIGHUP reopens the access log: the primary passes it on ('reopen-log'), once per worker.
if (setup.accessLog && setup.accessLog.to !== 'stdout') process.on('SIGHUP', () => {});
// The primary going away takes its workers with it.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
