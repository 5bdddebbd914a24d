import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { HuaweiError } from './errors.js';

// Huawei's AK/SK signature, SDK-HMAC-SHA256 (spec D.1): unlike TC3 the secret key signs
// directly, the canonical URI always ends in '/', and the signed host includes the port.

export interface AkSkCredential { accessKey: string; signedHeaders: string[]; signature: string }

export interface SignedRequest {
  method: string;
  /** Path and query exactly as received (`req.url`). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const AUTH = /^SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/;

export const badSignature = (why: string) => new HuaweiError(401, 'APIG.1002', `Incorrect IAM authentication information: ${why}`);

export function parseAkSk(header: string): AkSkCredential | null {
  const m = AUTH.exec(header.trim());
  if (!m) return null;
  return { accessKey: m[1]!, signedHeaders: m[2]!.toLowerCase().split(';'), signature: m[3]! };
}

/** Percent-encoding with only A-Z a-z 0-9 - _ . ~ left bare, hex upper-case, as the SDK does. */
export function huaweiEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function decode(s: string): string {
  try { return decodeURIComponent(s.replace(/\+/g, '%20')); } catch { return s; }
}

export function canonicalUri(path: string): string {
  const encoded = path.split('/').map((seg) => huaweiEncode(decode(seg))).join('/');
  return encoded.endsWith('/') ? encoded : `${encoded}/`;
}

export function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs = query.split('&').filter((p) => p !== '').map((p) => {
    const i = p.indexOf('=');
    return i < 0 ? [decode(p), ''] : [decode(p.slice(0, i)), decode(p.slice(i + 1))];
  });
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${huaweiEncode(k!)}=${huaweiEncode(v!)}`).join('&');
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

function headerValue(h: SignedRequest['headers'], name: string): string {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v ?? '';
}

export function stringToSign(req: SignedRequest, cred: AkSkCredential, sdkDate: string): string {
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query = q < 0 ? '' : req.url.slice(q + 1);
  const names = [...cred.signedHeaders].sort();
  const canonicalHeaders = names.map((n) => `${n}:${headerValue(req.headers, n)}\n`).join('');
  const payload = headerValue(req.headers, 'x-sdk-content-sha256') === 'UNSIGNED-PAYLOAD' ? 'UNSIGNED-PAYLOAD' : sha256(req.body);
  const canonicalRequest = [req.method.toUpperCase(), canonicalUri(path), canonicalQuery(query), canonicalHeaders, names.join(';'), payload].join('\n');
  return `SDK-HMAC-SHA256\n${sdkDate}\n${sha256(canonicalRequest)}`;
}

/** Largest accepted distance between X-Sdk-Date and the server clock. */
export const MAX_SKEW_MS = 15 * 60 * 1000;

/** `20240416T095341Z` to epoch milliseconds, or NaN. */
export function parseSdkDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : Number.NaN;
}

export function verifyAkSk(req: SignedRequest, cred: AkSkCredential, secretKey: string, nowMs: number): void {
  const date = headerValue(req.headers, 'x-sdk-date');
  const at = parseSdkDate(date);
  if (Number.isNaN(at)) throw badSignature('X-Sdk-Date must be a UTC time in the form 20240416T095341Z');
  if (Math.abs(nowMs - at) > MAX_SKEW_MS) {
    throw new HuaweiError(401, 'APIG.1001', `Signature expired: X-Sdk-Date ${date} is more than 15 minutes from the server time ${new Date(nowMs).toISOString()}`);
  }
  if (!cred.signedHeaders.includes('x-sdk-date') || !cred.signedHeaders.includes('host')) {
    throw badSignature('SignedHeaders must include host and x-sdk-date');
  }
  const want = Buffer.from(cred.signature, 'hex');
  const got = createHmac('sha256', secretKey).update(stringToSign(req, cred, date)).digest();
  if (got.length !== want.length || !timingSafeEqual(got, want)) {
    throw badSignature('verify aksk signature fail; check the secret key and that the signed host includes the port');
  }
}
