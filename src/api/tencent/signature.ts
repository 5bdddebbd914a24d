import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { TencentError } from './errors.js';

export interface SignedRequest {
  method: string;
  /** The raw query string (GET), exactly as in the URL. */
  query: string;
  headers: Record<string, string | string[] | undefined>;
  /** The body bytes as received. */
  body: Buffer;
}

export interface Credential { secretId: string; date: string; service: string; signedHeaders: string[]; signature: string }

const AUTH = /^TC3-HMAC-SHA256 Credential=([^/\s]+)\/(\d{4}-\d{2}-\d{2})\/([^/\s]+)\/tc3_request, ?SignedHeaders=([a-z0-9;_-]+), ?Signature=([0-9a-f]{64})$/;

/** Parses the Authorization header; a malformed one is AuthFailure.InvalidAuthorization. */
export function parseAuthorization(header: string | undefined): Credential {
  if (!header) throw new TencentError('AuthFailure.InvalidAuthorization', 'the Authorization header is missing; sluice accepts TC3-HMAC-SHA256 signatures');
  const m = AUTH.exec(header.trim());
  if (!m) throw new TencentError('AuthFailure.InvalidAuthorization', 'the Authorization header is not a valid TC3-HMAC-SHA256 authorization');
  return { secretId: m[1]!, date: m[2]!, service: m[3]!, signedHeaders: m[4]!.split(';'), signature: m[5]! };
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

function header(h: SignedRequest['headers'], name: string): string {
  const v = h[name];
  return (Array.isArray(v) ? v.join(',') : v ?? '').trim().toLowerCase();
}

/** The TC3 signature of `req` for the given host value (see the spec, A.3). */
export function tc3Signature(req: SignedRequest, cred: Credential, secretKey: string, timestamp: string, host: string): string {
  const canonicalHeaders = cred.signedHeaders.map((n) => `${n}:${n === 'host' ? host.toLowerCase() : header(req.headers, n)}\n`).join('');
  const canonicalRequest = [
    req.method.toUpperCase(), '/', req.method.toUpperCase() === 'GET' ? req.query : '',
    canonicalHeaders, cred.signedHeaders.join(';'), sha256(req.body),
  ].join('\n');
  const scope = `${cred.date}/${cred.service}/tc3_request`;
  const stringToSign = `TC3-HMAC-SHA256\n${timestamp}\n${scope}\n${sha256(canonicalRequest)}`;
  const kDate = hmac(`TC3${secretKey}`, cred.date);
  const kService = hmac(kDate, cred.service);
  const kSigning = hmac(kService, 'tc3_request');
  return createHmac('sha256', kSigning).update(stringToSign).digest('hex');
}

/** Maximum clock skew between the caller's X-TC-Timestamp and ours. */
export const MAX_SKEW_SECONDS = 300;

/**
 * Verifies a TC3-HMAC-SHA256 request. The service is the one in the credential scope (the
 * SDK signs `127` for an endpoint of 127.0.0.1:PORT) and the signed host is the Host
 * header's name without the port, as the SDK signs it, or with the port, as other clients do.
 */
export function verifyTc3(req: SignedRequest, cred: Credential, secretKey: string, nowSeconds: number): void {
  const ts = header(req.headers, 'x-tc-timestamp');
  if (!/^\d{1,12}$/.test(ts)) throw new TencentError('AuthFailure.InvalidAuthorization', 'X-TC-Timestamp must be Unix seconds');
  if (Math.abs(nowSeconds - Number(ts)) > MAX_SKEW_SECONDS) {
    throw new TencentError('AuthFailure.SignatureExpire', `the signature expired: X-TC-Timestamp ${ts} is more than ${MAX_SKEW_SECONDS} s from the server time ${nowSeconds}`);
  }
  if (new Date(Number(ts) * 1000).toISOString().slice(0, 10) !== cred.date) {
    throw new TencentError('AuthFailure.SignatureFailure', `the credential date ${cred.date} is not the UTC date of X-TC-Timestamp`);
  }
  if (!cred.signedHeaders.includes('host') || !cred.signedHeaders.includes('content-type')) {
    throw new TencentError('AuthFailure.InvalidAuthorization', 'SignedHeaders must include content-type and host');
  }
  const hostHeader = header(req.headers, 'host');
  const bare = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0]!;
  const want = Buffer.from(cred.signature, 'hex');
  for (const host of bare === hostHeader ? [bare] : [bare, hostHeader]) {
    const got = Buffer.from(tc3Signature(req, cred, secretKey, ts, host), 'hex');
    if (got.length === want.length && timingSafeEqual(got, want)) return;
  }
  throw new TencentError('AuthFailure.SignatureFailure', 'the request signature does not match; check the SecretKey and the signing procedure');
}
