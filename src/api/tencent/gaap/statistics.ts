import {
  GAAP_TZ_OFFSET_S, groupStatistics, listenerStatistics, proxyStatistics, realServerStatistics, withinHours,
  type Point, type Series, type StatsQuery,
} from '../../../control/gaap.js';
import type { Action, ActionContext } from '../actions.js';
import { TencentError } from '../errors.js';
import type { Params, Spec } from '../params.js';
import { gaapCall } from './errors.js';
import { scopeOf } from './listeners.js';

// GAAP's statistics actions (gaap.md 2.6; shapes as gaap_models.d.ts types them). The ranges,
// granularities, metrics and sums are the control layer's (control/gaap/statistics.ts); here
// are the wire format, GAAP's "YYYY-MM-DD hh:mm:ss" times (read in UTC+8, as GAAP's) and
// its parameter names.

const TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const ID: Spec = { type: 'string', required: true, maxLength: 64 };
const TIME_SPEC: Spec = { type: 'string', maxLength: 19 };
const METRICS: Spec = { type: 'array', items: { type: 'string', maxLength: 32 }, maxItems: 20, required: true };
const RANGED: Record<string, Spec> = {
  StartTime: { ...TIME_SPEC, required: true } as Spec, EndTime: { ...TIME_SPEC, required: true } as Spec,
  MetricNames: METRICS, Granularity: { type: 'int', required: true },
};

const RENAME = { from: 'StartTime', to: 'EndTime', granularity: 'Granularity', metrics: 'MetricNames', withinTime: 'WithinTime', originId: 'RealServerId' };

/** Unix seconds of a GAAP time, or InvalidParameterValue naming the parameter. */
export function gaapTime(value: unknown, param: string): number {
  const m = typeof value === 'string' ? TIME.exec(value) : null;
  const [y, mo, d, h, mi, s] = m ? m.slice(1).map(Number) as [number, number, number, number, number, number] : [0, 0, 0, 0, 0, 0];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  // Date.UTC rolls 2024-02-31 over into March: a date that does not round-trip does not exist.
  if (!m || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    throw new TencentError('InvalidParameter.FormatError', `the parameter \`${param}\` ${JSON.stringify(String(value).slice(0, 32))} is not a time of the form YYYY-MM-DD hh:mm:ss`);
  }
  return ms / 1000 - GAAP_TZ_OFFSET_S;
}

function rangeOf(p: Params): StatsQuery {
  return { fromS: gaapTime(p.StartTime, 'StartTime'), toS: gaapTime(p.EndTime, 'EndTime'), granularity: p.Granularity as number };
}

const data = (points: readonly Point[]) => points.map((x) => ({ Time: x.time, Data: x.value }));
const metricInfo = (series: readonly Series[]) => ({ StatisticsData: series.map((s) => ({ MetricName: s.metric, MetricData: data(s.points) })) });

type Describe = (ctx: ActionContext, id: string, q: StatsQuery, metrics: string[]) => Promise<Series[]>;

function trafficAction(idParam: string, describe: Describe): Action {
  return {
    params: { [idParam]: ID, ...RANGED },
    run(ctx, p) {
      return gaapCall(RENAME, async () => metricInfo(await describe(ctx, p[idParam] as string, rangeOf(p), p.MetricNames as string[])));
    },
  };
}

export const STATISTICS_ACTIONS: Record<string, Action> = {
  DescribeProxyStatistics: {
    ...trafficAction('ProxyId', (ctx, id, q, m) => proxyStatistics(ctx.store, scopeOf(ctx), ctx.l4.stats, id, q, m)),
    params: { ProxyId: ID, ...RANGED, Isp: { type: 'string', enum: ['CMCC', 'CUCC', 'CTCC', ''] } },
  },
  DescribeListenerStatistics: trafficAction('ListenerId', (ctx, id, q, m) => listenerStatistics(ctx.store, scopeOf(ctx), ctx.l4.stats, id, q, m)),
  DescribeProxyGroupStatistics: trafficAction('GroupId', (ctx, id, q, m) => groupStatistics(ctx.store, scopeOf(ctx), ctx.l4.stats, id, q, m)),

  DescribeRealServerStatistics: {
    params: {
      RealServerId: ID, ListenerId: { type: 'string', maxLength: 64 }, RuleId: { type: 'string', maxLength: 64 },
      WithinTime: { type: 'int' }, StartTime: TIME_SPEC, EndTime: TIME_SPEC, Granularity: { type: 'int' },
    },
    run(ctx, p) {
      // GAAP's L7 rules are not carried here (l7.ts): no rule exists to report on.
      if (p.RuleId !== undefined) throw new TencentError('ResourceNotFound', `the rule \`RuleId\` ${JSON.stringify(String(p.RuleId))} does not exist: this GAAP has no L7 rules`);
      if (p.ListenerId === undefined) throw new TencentError('MissingParameter', 'the parameter `ListenerId` is required (or `RuleId` for an L7 rule)');
      const granularity = (p.Granularity as number | undefined) ?? 300;
      const ranged = p.StartTime !== undefined || p.EndTime !== undefined;
      if (ranged && p.WithinTime !== undefined) throw new TencentError('InvalidParameter', 'the parameters `WithinTime` and `StartTime`/`EndTime` say the same thing: give one of them');
      if (ranged && (p.StartTime === undefined || p.EndTime === undefined)) {
        throw new TencentError('MissingParameter', `the parameter \`${p.StartTime === undefined ? 'StartTime' : 'EndTime'}\` is required with \`${p.StartTime === undefined ? 'EndTime' : 'StartTime'}\``);
      }
      return gaapCall(RENAME, async () => {
        const q = ranged ? { fromS: gaapTime(p.StartTime, 'StartTime'), toS: gaapTime(p.EndTime, 'EndTime'), granularity } : withinHours((p.WithinTime as number | undefined) ?? 1, granularity);
        const points = await realServerStatistics(ctx.store, scopeOf(ctx), ctx.l4.stats, p.RealServerId as string, p.ListenerId as string, q);
        return { StatisticsData: data(points), RsStatisticsData: [] };
      });
    },
  },
};
