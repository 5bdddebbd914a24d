import type { IncomingMessage } from 'node:http';

/**
 * Hop-by-hop headers (RFC 9110 7.6.1) and ones the gateway sets itself. `http2-settings` only
 * means something with `Upgrade: h2c`, which is never passed on (see upgrade.ts).
 */
const DROP_REQUEST = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding',
  'upgrade', 'http2-settings', 'expect', 'host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip',
]);

export const DROP_RESPONSE: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

export interface ForwardedFor {
  clientIp: string;
  /** The client's Host header as received. */
  clientHost: string;
  /** Host header to send. */
  host: string;
}

/** Headers named in `Connection:` are hop-by-hop too. */
function connectionTokens(value: string | undefined): Set<string> | null {
  if (!value) return null;
  // The usual values name no header: skip the split on the hot path.
  if (value.length <= 10) {
    const v = value.toLowerCase();
    if (v === 'keep-alive' || v === 'close') return null;
  }
  const tokens = value.toLowerCase().split(',').map((t) => t.trim()).filter((t) => t && t !== 'close' && t !== 'keep-alive');
  return tokens.length ? new Set(tokens) : null;
}

/**
 * Request headers for the upstream, as undici's flat [name, value, ...] list. Built from
 * Node's parsed `req.headers` (lower-case names, repeats already joined), which the router
 * has parsed anyway for Host.
 */
export function upstreamRequestHeaders(req: IncomingMessage, f: ForwardedFor): string[] {
  const h = req.headers;
  const extra = connectionTokens(h.connection);
  const out: string[] = ['host', f.host];
  for (const name in h) {
    if (DROP_REQUEST.has(name) || (extra !== null && extra.has(name))) continue;
    const v = h[name];
    if (typeof v === 'string') out.push(name, v);
    else if (v !== undefined) for (const one of v) out.push(name, one);
  }
  // gRPC needs `te: trailers` end to end.
  if (typeof h.te === 'string' && h.te.toLowerCase() === 'trailers') out.push('te', 'trailers');
  const xff = h['x-forwarded-for'];
  out.push(
    'x-forwarded-for', xff ? `${xff}, ${f.clientIp}` : f.clientIp,
    'x-forwarded-proto', 'http',
    'x-forwarded-host', f.clientHost,
    'x-real-ip', f.clientIp,
  );
  return out;
}

/** Only names as long as a hop-by-hop one need the lower-cased lookup (most never do). */
const HOP_LENGTH = new Uint8Array(32);
for (const n of DROP_RESPONSE) HOP_LENGTH[n.length] = 1;
const mayBeHopByHop = (name: string): boolean => name.length < 32 && HOP_LENGTH[name.length] === 1;

/**
 * Response headers for the client from undici's raw [name, value, ...] buffers, as the flat
 * list `writeHead` takes, hop-by-hop ones removed. Working on the raw list skips undici's
 * header-object parse; names keep the upstream's case, as nginx passes them.
 */
export function clientResponseHeaders(raw: readonly Buffer[]): string[] {
  const out: string[] = [];
  let extra: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const value = raw[i + 1]!.toString('latin1');
    if (mayBeHopByHop(name)) {
      const lower = name.toLowerCase();
      if (DROP_RESPONSE.has(lower)) {
        if (lower === 'connection') extra = connectionTokens(value);
        continue;
      }
    }
    out.push(name, value);
  }
  return extra === null ? out : dropNamed(out, extra);
}

/** Removes headers a `Connection:` value named (rare: most say keep-alive or close). */
function dropNamed(flat: string[], names: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) if (!names.has(flat[i]!.toLowerCase())) out.push(flat[i]!, flat[i + 1]!);
  return out;
}

/** Trailers from undici's raw list, as the [name, value] pairs `addTrailers` takes. */
export function rawTrailers(raw: readonly (Buffer | string)[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i]!.toString('latin1'), raw[i + 1]!.toString('latin1')]);
  return out;
}
