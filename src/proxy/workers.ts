import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { ConfigDelta, RuntimeConfig } from '../runtime/config.js';
import type { HealthUpdate } from '../runtime/member-state.js';
import type { ListenerLimits } from './limits.js';
import type { Outcome } from '../model/health.js';
import type { ProxyServer } from './server.js';
import type { FromWorker, ToWorker, WorkerSetup } from './worker-protocol.js';
import type { ProxyStatus } from '../model/gaap.js';
import type { ListenerReport } from '../model/l4-report.js';
import type { StatRow } from '../model/l4-stats.js';
import type { AccessLogSettings } from '../observe/access-log.js';

export interface WorkerPoolOptions {
  count: number;
  host: string;
  port: number;
  logger: Logger;
  logLevel: string;
  /** Each worker's timeouts and connection caps. */
  limits: ListenerLimits;
  /** The whole current config, for a worker that starts (or asks for it). */
  config(): RuntimeConfig;
  /** A worker acknowledged a revision (the node's applied revision may have moved). */
  onAcknowledged?(): void;
  /** Current health verdicts, sent to each worker after its first config. */
  verdicts(): HealthUpdate[];
  /** Passive health input reported by a worker. */
  onOutcome(key: string, outcome: Outcome, status: number): void;
  /** The L4 plane's settings for the workers, or null when the node serves no L4 region. */
  l4: WorkerSetup['l4'];
  /** The regions whose L7 routes the workers serve (null: every region). */
  l7Regions: WorkerSetup['l7Regions'];
  /** A worker applied a proxy's transitional state: settle it; false if that did not land. */
  onL4Applied(proxyId: string, status: ProxyStatus): Promise<boolean>;
  /** A worker's listener report (null: it no longer serves the listener). */
  onL4Listener(id: string, report: ListenerReport | null): void;
  /** A worker's L4 statistics deltas. */
  onL4Stats?(rows: StatRow[]): void;
  /** Where each worker writes its access lines (null or absent: none). */
  accessLog?: AccessLogSettings | null;
}

export interface ProxyWorkers extends ProxyServer {
  /** Sends a whole config to every worker (after a full reload). */
  broadcastConfig(config: RuntimeConfig): void;
  /** Sends a delta to every worker. */
  broadcastDelta(delta: ConfigDelta): void;
  /**
   * The lowest revision the live workers acknowledged; null when none has yet. A worker that
   * died, or was just started, counts from its first acknowledgement.
   */
  appliedRevision(): number | null;
  /** Sends a health verdict to every worker. */
  broadcastHealth(u: HealthUpdate): void;
  /** Every live worker's metrics (prom-client JSON); one that does not answer within `timeoutMs` is left out. */
  metrics(timeoutMs: number): Promise<object[][]>;
  /** Has every worker reopen its access-log file. */
  reopenLogs(): void;
}

// Under tsx (tests, development) this module is a .ts file and so is its sibling.
const WORKER_ENTRY = new URL(`./worker-main${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/**
 * N proxy worker processes on one listener (node:cluster shares the socket). A worker gets
 * the whole config when it is ready (or asks again), then the deltas as they come, and
 * acknowledges each revision it applied; a worker that dies is replaced.
 */
export async function startProxyWorkers(opts: WorkerPoolOptions): Promise<ProxyWorkers> {
  const log = opts.logger;
  let stopping = false;
  let started = false;
  const workers = new Set<Worker>();
  const acknowledged = new Map<Worker, number>();
  let scrapeSeq = 0;
  const scrapes = new Map<number, (metrics: object[]) => void>();

  cluster.setupPrimary({ exec: fileURLToPath(WORKER_ENTRY), silent: false });

  const send = (w: Worker, m: ToWorker): void => {
    if (w.isConnected()) w.send(m, (err: Error | null) => { if (err) log.warn({ err, worker: w.process.pid }, 'could not reach proxy worker'); });
  };

  function fork(index: number): Promise<number> {
    // Every worker asks for the configured port, 0 included: the cluster shares one socket
    // per (host, port asked for), so asking for the port 0 turned into would bind anew.
    const setup: WorkerSetup = { host: opts.host, port: opts.port, logLevel: opts.logLevel, limits: opts.limits, index, count: opts.count, l4: opts.l4, l7Regions: opts.l7Regions, accessLog: opts.accessLog ?? null };
    const w = cluster.fork({ SLUICE_WORKER_SETUP: JSON.stringify(setup) });
    workers.add(w);
    const listening = new Promise<number>((resolve, reject) => {
      w.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          send(w, { type: 'config', config: opts.config() });
          send(w, { type: 'health', updates: opts.verdicts() });
        } else if (m.type === 'need-config') send(w, { type: 'config', config: opts.config() });
        else if (m.type === 'applied') {
          if (!workers.has(w)) return;
          acknowledged.set(w, m.revision);
          opts.onAcknowledged?.();
        } else if (m.type === 'outcome') opts.onOutcome(m.key, m.outcome, m.status);
        else if (m.type === 'l4-applied') void opts.onL4Applied(m.proxyId, m.status).then((ok) => send(w, { type: 'l4-ack', seq: m.seq, ok }));
        else if (m.type === 'l4-listener') opts.onL4Listener(m.id, m.report);
        else if (m.type === 'l4-stats') opts.onL4Stats?.(m.rows);
        else if (m.type === 'metrics') scrapes.get(m.seq)?.(m.metrics);
        else if (m.type === 'listening') resolve(m.port);
      });
      w.once('exit', (code) => reject(new Error(`proxy worker exited with code ${code} before listening`)));
    });
    w.once('exit', (code, signal) => {
      workers.delete(w);
      acknowledged.delete(w);
      if (stopping || !started) return;
      log.error({ worker: w.process.pid, code, signal }, 'proxy worker died; starting another in 1 s');
      // A pause, so that a worker that cannot start does not spin.
      setTimeout(() => {
        if (!stopping) fork(index).catch((err: unknown) => log.error({ err }, 'could not replace proxy worker'));
      }, 1000).unref();
    });
    return listening;
  }

  let port: number;
  try {
    const ports = await Promise.all(Array.from({ length: opts.count }, (_, i) => fork(i)));
    port = ports[0]!;
  } catch (err) {
    stopping = true;
    for (const w of workers) w.process.kill('SIGKILL');
    throw err;
  }
  started = true;
  log.info({ workers: opts.count, port }, 'proxy workers listening');

  return {
    port,
    broadcastConfig(config) {
      for (const w of workers) send(w, { type: 'config', config });
    },
    broadcastDelta(delta) {
      for (const w of workers) send(w, { type: 'delta', delta });
    },
    appliedRevision() {
      let min: number | null = null;
      for (const r of acknowledged.values()) min = min === null ? r : Math.min(min, r);
      return min;
    },
    broadcastHealth(u) {
      for (const w of workers) send(w, { type: 'health', updates: [u] });
    },
    reopenLogs() {
      for (const w of workers) send(w, { type: 'reopen-log' });
    },
    async metrics(timeoutMs) {
      const answers = await Promise.all([...workers].map((w) => new Promise<object[] | null>((resolve) => {
        const seq = ++scrapeSeq;
        const timer = setTimeout(() => { scrapes.delete(seq); log.warn({ worker: w.process.pid }, 'proxy worker did not answer a metrics scrape in time; left out'); resolve(null); }, timeoutMs);
        scrapes.set(seq, (metrics) => { clearTimeout(timer); scrapes.delete(seq); resolve(metrics); });
        send(w, { type: 'metrics', seq });
      })));
      return answers.filter((a): a is object[] => a !== null);
    },
    async close(graceMs) {
      stopping = true;
      await Promise.all([...workers].map(async (w) => {
        const exited = once(w, 'exit');
        send(w, { type: 'shutdown', graceMs });
        const timer = setTimeout(() => w.process.kill('SIGKILL'), graceMs + 2000);
        await exited;
        clearTimeout(timer);
      }));
    },
  };
}
