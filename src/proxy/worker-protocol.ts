import type { ConfigDelta, RuntimeConfig } from '../runtime/config.js';
import type { HealthUpdate } from '../runtime/member-state.js';
import type { Outcome } from '../model/health.js';
import type { ListenerLimits } from './limits.js';
import type { ProxyStatus } from '../model/gaap.js';
import type { ListenerReport } from '../model/l4-report.js';
import type { StatRow } from '../model/l4-stats.js';
import type { AccessLogSettings } from '../observe/access-log.js';

/** Messages between the primary and its proxy workers over the cluster IPC channel. */
export type ToWorker =
  /** The whole config: when the worker is ready, when it asks, and after a full reload. */
  | { type: 'config'; config: RuntimeConfig }
  /** The revisions after the one the worker holds. */
  | { type: 'delta'; delta: ConfigDelta }
  | { type: 'health'; updates: HealthUpdate[] }
  | { type: 'shutdown'; graceMs: number }
  /** The primary's answer to an l4-applied report: whether it landed in the store. */
  | { type: 'l4-ack'; seq: number; ok: boolean }
  /** A scrape: the worker answers with its registry's metrics (prom-client JSON). */
  | { type: 'metrics'; seq: number }
  /** Reopen the access-log file (the primary got SIGHUP). */
  | { type: 'reopen-log' };

export type FromWorker =
  /** The worker's message handler is in place (messages sent before that are lost). */
  | { type: 'ready' }
  | { type: 'listening'; port: number }
  /** The worker runs this revision (sent after every config and delta it applied). */
  | { type: 'applied'; revision: number }
  /** A delta did not follow the revision the worker holds: it needs the whole config. */
  | { type: 'need-config' }
  /** Passive health input for the primary's checker. */
  | { type: 'outcome'; key: string; outcome: Outcome; status: number }
  /** A proxy this worker serves has its transitional state applied (the primary settles it). */
  | { type: 'l4-applied'; seq: number; proxyId: string; status: ProxyStatus }
  /** A listener's report changed (null: no longer served by this worker). */
  | { type: 'l4-listener'; id: string; report: ListenerReport | null }
  /** Statistics deltas of this worker's proxies and listeners (the primary's book adds them up). */
  | { type: 'l4-stats'; rows: StatRow[] }
  /** The answer to a scrape. */
  | { type: 'metrics'; seq: number; metrics: object[] };

/** A worker's start parameters (in its environment); `limits` is already this worker's share. */
export interface WorkerSetup {
  host: string;
  port: number;
  logLevel: string;
  limits: ListenerLimits;
  /** This worker's slot (0..count-1): it serves the L4 proxies workerOf assigns to it. */
  index: number;
  count: number;
  /** The L4 plane's settings, or null when the node serves no L4 region. */
  l4: { region: string; drainMs: number } | null;
  /** The regions whose L7 routes the node serves, or null for every region. */
  l7Regions: string[] | null;
  /** Where this worker writes its access lines, or null: none. */
  accessLog: AccessLogSettings | null;
}
