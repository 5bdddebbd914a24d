import { createHash, createHmac } from 'node:crypto';

// A TC3-HMAC-SHA256 signer written from the protocol (spec A.3), independent of sluice's
// verifier: tests use it to send requests the official SDK never would (raw query strings,
// malformed bodies) with a valid signature, so that what they reach is the parser, not auth.

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

export interface Tc3Request {
  method: 'GET' | 'POST';
  /** Raw query string without '?', signed as is (GET). */
  query?: string;
  body?: Buffer | string;
  action: string;
  version?: string;
  region?: string;
  contentType?: string;
  /** host[:port] as sent in the Host header; the SDK signs the name without the port. */
  host: string;
  secretId: string;
  secretKey: string;
  service?: string;
  timestamp?: number;
}

/** Headers for a signed request (Host included). */
export function tc3Headers(r: Tc3Request): Record<string, string> {
  const ts = r.timestamp ?? Math.floor(Date.now() / 1000);
  const date = new Date(ts * 1000).toISOString().slice(0, 10);
  const service = r.service ?? 'apigateway';
  const contentType = r.contentType ?? (r.method === 'GET' ? 'application/x-www-form-urlencoded' : 'application/json');
  const body = r.method === 'GET' ? '' : r.body ?? '';
  const hostName = r.host.replace(/:\d+$/, '');
  const canonical = [r.method, '/', r.method === 'GET' ? r.query ?? '' : '', `content-type:${contentType}\nhost:${hostName}\n`, 'content-type;host', sha256(body)].join('\n');
  const scope = `${date}/${service}/tc3_request`;
  const toSign = `TC3-HMAC-SHA256\n${ts}\n${scope}\n${sha256(canonical)}`;
  const key = hmac(hmac(hmac(`TC3${r.secretKey}`, date), service), 'tc3_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  const headers: Record<string, string> = {
    host: r.host,
    'content-type': contentType,
    authorization: `TC3-HMAC-SHA256 Credential=${r.secretId}/${scope}, SignedHeaders=content-type;host, Signature=${signature}`,
    'x-tc-action': r.action,
    'x-tc-timestamp': String(ts),
    'x-tc-version': r.version ?? '2018-08-08',
  };
  if (r.region !== undefined) headers['x-tc-region'] = r.region;
  return headers;
}
