import { ModelError } from '../../model/errors.js';
import {
  listenerSubject, mergeFigures, MINUTE_MS, proxySubject, realServerSubject, STATS_WINDOW_MS,
  type MinuteFigures, type StatRow, type StatsReader,
} from '../../model/l4-stats.js';
import type { Store } from '../../store/store.js';
import type { Scope } from '../scope.js';
import { fetchOwned, groupProxies } from './common.js';

// GAAP's statistics (gaap.md 2.6) from the per-minute figures every node keeps and publishes
// (model/l4-stats.ts): the rules of which ranges, granularities and metrics each action takes,
// the sum over nodes, and the buckets (the max of the minutes within each, as GAAP documents).

/** What the traffic actions can report; the rest are answered as not measured (null points). */
const MEASURED: Record<string, (f: MinuteFigures) => number> = {
  /** Mbps, the minute's average: bytes x 8 / 60 s / 10^6. */
  InBandwidth: (f) => (f.bytesIn * 8) / 60 / 1e6,
  OutBandwidth: (f) => (f.bytesOut * 8) / 60 / 1e6,
  /** The most connections plus UDP sessions open at once in the minute. */
  Concurrent: (f) => f.concurrent,
  /** UDP datagrams per second, the minute's average (TCP packets are not seen from user space). */
  InPackets: (f) => f.packetsIn / 60,
  OutPackets: (f) => f.packetsOut / 60,
};
const TRAFFIC = ['InBandwidth', 'OutBandwidth', 'Concurrent', 'InPackets', 'OutPackets'];
/** Proxy metrics sluice does not measure (no probe of loss or latency; GAAP's L7 is not carried). */
const PROXY_UNMEASURED = ['PacketLoss', 'Latency', 'HttpQPS', 'HttpQPSPercent', 'HttpsQPS', 'HttpsQPSPercent'];

const DAY_S = 86_400;

/**
 * Per action: the metrics, the granularities, and the finest granularity allowed for a range
 * up to so many days (gaap_models.d.ts); a longer range than the last step is refused.
 */
interface Rules { metrics: readonly string[]; granularities: readonly number[]; finest: readonly [maxDays: number, granularity: number][] }

export const PROXY_RULES: Rules = { metrics: [...TRAFFIC, ...PROXY_UNMEASURED], granularities: [60, 300, 3600, 86400], finest: [[3, 60], [7, 300], [30, 3600]] };
export const LISTENER_RULES: Rules = { metrics: TRAFFIC, granularities: [300, 3600, 86400], finest: [[1, 300], [7, 3600], [30, 86400]] };
export const GROUP_RULES: Rules = { metrics: TRAFFIC, granularities: [60, 300, 3600, 86400], finest: [[1, 60], [7, 3600], [30, 86400]] };
export const REAL_SERVER_RULES: Rules = { metrics: [], granularities: [60, 300], finest: [[1, 60]] };
/** DescribeRealServerStatistics' WithinTime, in hours. */
export const WITHIN_HOURS = [1, 3, 6, 12, 24];

/**
 * Buckets start on the granularity in GAAP's time zone (UTC+8, as the times its callers
 * write): a day bucket is a Beijing day.
 */
export const GAAP_TZ_OFFSET_S = 8 * 3600;

export interface StatsQuery {
  /** Unix seconds; from inclusive, to inclusive (GAAP's "23:59:59" ends a day). */
  fromS: number;
  toS: number;
  granularity: number;
}

export interface Point { time: number; value: number | null }
export interface Series { metric: string; points: Point[] }

function checkQuery(q: StatsQuery, rules: Rules): void {
  if (!rules.granularities.includes(q.granularity)) {
    throw new ModelError('not_in_options', 'granularity', `granularity ${q.granularity} is not one of ${rules.granularities.join(', ')}`, { value: q.granularity, reason: `is not one of ${rules.granularities.join(', ')} (seconds)` });
  }
  if (q.toS <= q.fromS) throw new ModelError('out_of_range', 'to', 'the end time is not after the start time', { reason: 'must be after StartTime' });
  const days = (q.toS - q.fromS) / DAY_S;
  const step = rules.finest.find(([maxDays]) => days <= maxDays);
  const longest = rules.finest[rules.finest.length - 1]![0];
  if (!step) throw new ModelError('out_of_range', 'to', `the range is longer than ${longest} days`, { reason: `is more than ${longest} days after StartTime` });
  if (q.granularity < step[1]) {
    throw new ModelError('not_in_options', 'granularity', `granularity ${q.granularity} is too fine for the range`, { value: q.granularity, reason: `is too fine for a range of up to ${step[0]} day(s): ${step[1]} seconds at least` });
  }
}

function checkMetrics(metrics: readonly string[], rules: Rules): void {
  if (metrics.length === 0) throw new ModelError('missing', 'metrics', 'at least one metric name is required');
  metrics.forEach((m, i) => {
    if (!rules.metrics.includes(m)) throw new ModelError('not_in_options', `metrics[${i}]`, `metric ${m} is not supported`, { value: m, reason: `is not one of ${rules.metrics.join(', ')}` });
  });
}

/** Every node's minutes of `subjects`, summed over nodes (this node's from its book: fresher than its published rows). */
async function minutes(store: Store, reader: StatsReader, subjects: readonly string[], fromMs: number, toMs: number): Promise<Map<number, MinuteFigures>> {
  const me = reader.nodeId();
  const rows: StatRow[] = [...(await store.stats(subjects, fromMs, toMs)).filter((r) => r.nodeId !== me), ...reader.range(subjects, fromMs, toMs)];
  const out = new Map<number, MinuteFigures>();
  for (const r of rows) {
    const cur = out.get(r.minuteMs);
    if (cur) mergeFigures(cur, r.figures, true);
    else out.set(r.minuteMs, { ...r.figures });
  }
  return out;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** The bucket starts of a query, up to now (a bucket not begun has no point). */
function bucketStarts(q: StatsQuery, nowS: number): number[] {
  const g = q.granularity;
  const first = Math.floor((q.fromS + GAAP_TZ_OFFSET_S) / g) * g - GAAP_TZ_OFFSET_S;
  const out: number[] = [];
  for (let t = first; t <= q.toS && t <= nowS; t += g) out.push(t);
  return out;
}

/**
 * One point per bucket: the max over its minutes (`pick` reduces them, null: none held). A
 * minute inside the window with no figures had no traffic (0); buckets wholly older than the
 * window have no data (null).
 */
function bucketed(q: StatsQuery, byMinute: Map<number, MinuteFigures>, value: (f: MinuteFigures) => number, nowMs: number, empty: number | null, worst = false): Point[] {
  const oldest = nowMs - STATS_WINDOW_MS;
  return bucketStarts(q, Math.floor(nowMs / 1000)).map((t) => {
    let v: number | null = null;
    for (let m = t * 1000; m < (t + q.granularity) * 1000 && m <= nowMs; m += MINUTE_MS) {
      const f = byMinute.get(m);
      const x = f ? value(f) : m + MINUTE_MS > oldest ? empty : null;
      if (x === null) continue;
      v = v === null ? x : worst ? Math.min(v, x) : Math.max(v, x);
    }
    return { time: t, value: v === null ? null : round3(v) };
  });
}

async function traffic(store: Store, reader: StatsReader, subjects: readonly string[], q: StatsQuery, metrics: readonly string[], now: number): Promise<Series[]> {
  const byMinute = await minutes(store, reader, subjects, q.fromS * 1000 - (q.granularity * 1000), (q.toS + q.granularity) * 1000);
  return metrics.map((metric) => {
    const f = MEASURED[metric];
    return { metric, points: f ? bucketed(q, byMinute, f, now, 0) : bucketStarts(q, Math.floor(now / 1000)).map((time) => ({ time, value: null })) };
  });
}

export async function proxyStatistics(store: Store, scope: Scope, reader: StatsReader, proxyId: string, q: StatsQuery, metrics: readonly string[], now = Date.now()): Promise<Series[]> {
  checkQuery(q, PROXY_RULES);
  checkMetrics(metrics, PROXY_RULES);
  await fetchOwned(store, scope, 'proxy', proxyId);
  return traffic(store, reader, [proxySubject(proxyId)], q, metrics, now);
}

export async function listenerStatistics(store: Store, scope: Scope, reader: StatsReader, listenerId: string, q: StatsQuery, metrics: readonly string[], now = Date.now()): Promise<Series[]> {
  checkQuery(q, LISTENER_RULES);
  checkMetrics(metrics, LISTENER_RULES);
  await fetchOwned(store, scope, 'streamListener', listenerId);
  return traffic(store, reader, [listenerSubject(listenerId)], q, metrics, now);
}

/** A group's figures: the sum over the proxies it holds now. */
export async function groupStatistics(store: Store, scope: Scope, reader: StatsReader, groupId: string, q: StatsQuery, metrics: readonly string[], now = Date.now()): Promise<Series[]> {
  checkQuery(q, GROUP_RULES);
  checkMetrics(metrics, GROUP_RULES);
  await fetchOwned(store, scope, 'connectionGroup', groupId);
  const proxies = await groupProxies(store, groupId);
  return traffic(store, reader, proxies.map((p) => proxySubject(p.id)), q, metrics, now);
}

/**
 * A real server's health on a listener over time: per bucket 1 when every node's checks
 * found it normal throughout, 0 when it was abnormal in any minute, null where no node
 * recorded anything (no node served the listener then).
 */
export async function realServerStatistics(store: Store, scope: Scope, reader: StatsReader, originId: string, listenerId: string, q: StatsQuery, now = Date.now()): Promise<Point[]> {
  checkQuery(q, REAL_SERVER_RULES);
  await fetchOwned(store, scope, 'origin', originId);
  await fetchOwned(store, scope, 'streamListener', listenerId);
  const byMinute = await minutes(store, reader, [realServerSubject(listenerId, originId)], q.fromS * 1000 - q.granularity * 1000, (q.toS + q.granularity) * 1000);
  return bucketed(q, byMinute, (f) => f.up ?? 1, now, null, true);
}

/** WithinTime hours back from now, as a query. */
export function withinHours(hours: number, granularity: number, now = Date.now()): StatsQuery {
  if (!WITHIN_HOURS.includes(hours)) throw new ModelError('not_in_options', 'withinTime', `WithinTime ${hours} is not one of ${WITHIN_HOURS.join(', ')}`, { value: hours, reason: `is not one of ${WITHIN_HOURS.join(', ')} (hours)` });
  const toS = Math.floor(now / 1000);
  return { fromS: toS - hours * 3600, toS, granularity };
}
