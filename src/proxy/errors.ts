import { STATUS_CODES } from 'node:http';
import type { Outcome } from '../model/health.js';
import type { UpstreamPlan } from '../runtime/snapshot.js';

/** Stable codes for answers the gateway makes itself; sent in `x-sluice-error` and the JSON body. */
export type ProxyErrorCode =
  | 'route_not_found'
  | 'no_healthy_upstream'
  | 'upstream_unavailable'
  | 'upstream_connect_failed'
  | 'upstream_tls_failed'
  | 'upstream_reset'
  | 'upstream_timeout'
  | 'upstream_bad_upgrade'
  | 'bad_request';

const STATUS: Record<ProxyErrorCode, number> = {
  route_not_found: 404,
  no_healthy_upstream: 503,
  upstream_unavailable: 503,
  upstream_connect_failed: 502,
  upstream_tls_failed: 502,
  upstream_reset: 502,
  upstream_timeout: 504,
  upstream_bad_upgrade: 502,
  bad_request: 400,
};

export interface ProxyFailure { code: ProxyErrorCode; message: string }

/**
 * No member to try: the upstream has none eligible, or it could not be built at all (the
 * operator reads why on its health API; the client is not told the details).
 */
export function noMember(plan: UpstreamPlan): ProxyFailure {
  return plan.error === null
    ? { code: 'no_healthy_upstream', message: `no eligible member in upstream ${plan.upstream.id}` }
    : { code: 'upstream_unavailable', message: `upstream ${plan.upstream.id} is misconfigured and not served` };
}

export function statusOf(code: ProxyErrorCode): number { return STATUS[code]; }

/**
 * The gateway's own error answer: JSON body, stable code header, and its body's size;
 * `keepAlive` for an answer on a connection that stays open.
 */
export function rawProxyAnswer(f: ProxyFailure, keepAlive = false): { text: string; bytes: number } {
  const body = JSON.stringify({ code: f.code, message: f.message });
  const bytes = Buffer.byteLength(body);
  const status = STATUS[f.code];
  return { bytes, text: `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n`
    + `content-type: application/json\r\ncontent-length: ${bytes}\r\nx-sluice-error: ${f.code}\r\n${keepAlive ? 'connection: keep-alive\r\nkeep-alive: timeout=65' : 'connection: close'}\r\n\r\n${body}` };
}

// The UND_ERR_ names are the ones the engine's member connections raise (lean/member-pool.ts
// memberError), kept from undici so that logs and tests read as before.
const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Classifies an upstream error by what it means for the client and for retries. */
export function classify(err: unknown): ProxyFailure & { kind: Exclude<Outcome, 'ok'> } {
  const e = err as { code?: string; message?: string };
  const code = e?.code ?? '';
  const message = e?.message ?? String(err);
  if (TIMEOUT_CODES.has(code)) return { kind: 'timeout', code: 'upstream_timeout', message: `upstream timed out (${code})` };
  if (CONNECT_CODES.has(code)) return { kind: 'connect', code: 'upstream_connect_failed', message: `could not connect to upstream (${code})` };
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_OSSL/.test(code)) return { kind: 'tls', code: 'upstream_tls_failed', message: `TLS handshake with upstream failed (${code}: ${message})` };
  return { kind: 'reset', code: 'upstream_reset', message: `upstream connection failed (${code || message})` };
}
