import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** Hop-by-hop headers (RFC 9110 7.6.1) and ones the gateway sets itself. */
const DROP_REQUEST = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding',
  'upgrade', 'expect', 'host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip',
]);

const DROP_RESPONSE = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

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
  const tokens = value.toLowerCase().split(',').map((t) => t.trim()).filter((t) => t && t !== 'close' && t !== 'keep-alive');
  return tokens.length ? new Set(tokens) : null;
}

/** Request headers for the upstream, as undici's flat [name, value, ...] list. */
export function upstreamRequestHeaders(req: IncomingMessage, f: ForwardedFor): string[] {
  const raw = req.rawHeaders;
  const extra = connectionTokens(req.headers.connection);
  const out: string[] = ['host', f.host];
  let xff = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (DROP_REQUEST.has(lower) || extra?.has(lower)) {
      if (lower === 'x-forwarded-for') xff = xff ? `${xff}, ${raw[i + 1]}` : raw[i + 1]!;
      // gRPC needs `te: trailers` end to end.
      else if (lower === 'te' && raw[i + 1]!.toLowerCase() === 'trailers') out.push('te', 'trailers');
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  out.push(
    'x-forwarded-for', xff ? `${xff}, ${f.clientIp}` : f.clientIp,
    'x-forwarded-proto', 'http',
    'x-forwarded-host', f.clientHost,
    'x-real-ip', f.clientIp,
  );
  return out;
}

/** Response headers for the client, hop-by-hop removed. */
export function clientResponseHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const extra = connectionTokens(headers.connection as string | undefined);
  const out: IncomingHttpHeaders = {};
  for (const name in headers) {
    if (DROP_RESPONSE.has(name) || extra?.has(name)) continue;
    out[name] = headers[name];
  }
  return out;
}
