import type { StatsReader } from '../../model/stats.js';
import type { FastifyRequest } from 'fastify';
import type { GaapSettings } from '../../control/gaap.js';
import type { Limits } from '../../control/upstreams.js';
import type { L4Reporter } from '../../model/l4-report.js';
import type { Store } from '../../store/store.js';
import type { HealthReporter } from '../health-reporter.js';
import * as S from './schemas.js';

/** What every operator-API plugin is given. */
export interface NativeDeps {
  store: Store;
  limits: Limits;
  defaultRegion: string;
  health: HealthReporter;
  gaap: GaapSettings;
  /** The node's L4 data plane and its checks (listeners' sockets, bindings' health). */
  l4: L4Reporter;
  /** This node's traffic numbers per upstream (its metrics). */
  stats: StatsReader;
}

export type Id = { id: string };
export type Sub = { id: string; sub: string };

// Documented error responses; typed loosely so that handlers may answer 201/204 as well.
export const err: Record<string, unknown> = { 400: S.ErrorBody, 401: S.ErrorBody, 404: S.ErrorBody, 409: S.ErrorBody };
export const withId = (extra: object = {}) => ({ params: S.IdParam, response: err, ...extra });
export const withSub = (extra: object = {}) => ({ params: S.SubIdParam, response: err, ...extra });

export function page(req: FastifyRequest): { limit: number; offset: number; tenantId?: string } {
  const q = req.query as S.TPaging;
  return { limit: q.limit ?? 20, offset: q.offset ?? 0, tenantId: q.tenantId };
}

/** One page of a list the control layer returns whole (the L4 kinds), optionally one tenant's. */
export function slice<T extends { tenantId: string }>(all: readonly T[], q: { limit?: number; offset?: number; tenantId?: string }): { items: T[]; total: number } {
  const mine = q.tenantId === undefined ? all : all.filter((o) => o.tenantId === q.tenantId);
  const offset = q.offset ?? 0;
  return { items: mine.slice(offset, offset + (q.limit ?? 20)), total: mine.length };
}
