/** One upstream's traffic as this node counted it since it started (GET /v1/upstreams/{id}/stats). */
export interface UpstreamStats {
  upstreamId: string;
  /** Client requests by status class of their answer (`none`: the client got no status). */
  requests: Record<string, number>;
  /** Attempts by member id, then outcome (ok, http_error, connect, tls, reset, timeout). */
  attempts: Record<string, Record<string, number>>;
  retries: number;
  /** Request and upstream-answer latency in seconds: count, mean and quantiles estimated from the histogram's buckets (null when nothing was counted). */
  latency: { request: LatencySummary; upstream: LatencySummary };
}

export interface LatencySummary { count: number; mean: number | null; p50: number | null; p90: number | null; p99: number | null }

/** What the operator API reads of this node's metrics (the metrics module implements it; app.ts wires it). */
export interface StatsReader {
  upstream(id: string): Promise<UpstreamStats>;
}

/** Which face of the admin API answered a request, for its metrics. */
export type AdminFace = 'native' | 'tencent' | 'huawei';

/** Counts admin requests (the metrics module implements it): `action` is a name from a fixed set, never a raw path. */
export interface AdminObserver {
  request(face: AdminFace, action: string, code: string): void;
  /** The store did not answer an admin request (503 store_unavailable and its dialect forms). */
  storeError(): void;
}

/** A node without metrics: every upstream reads as nothing counted. */
export const NO_STATS: StatsReader = {
  async upstream(id) {
    const none: LatencySummary = { count: 0, mean: null, p50: null, p90: null, p99: null };
    return { upstreamId: id, requests: {}, attempts: {}, retries: 0, latency: { request: none, upstream: { ...none } } };
  },
};
