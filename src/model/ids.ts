import { createHash, randomBytes } from 'node:crypto';

/** 32 lower-case hex characters: the id form Huawei's APIG uses for every object. */
export function newId(): string {
  return randomBytes(16).toString('hex');
}

export function nowIso(): string {
  return new Date().toISOString();
}

export const HEX32 = /^[0-9a-f]{32}$/;

/** Tencent API Gateway's upstream id: `upstream-` and 8 lower-case letters and digits (`upstream-0c96l2bo`). */
export const TENCENT_UPSTREAM_ID = /^upstream-[a-z0-9]{8}$/;

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** 8 characters of Tencent's alphabet from the first 8 bytes (the modulo bias is harmless for ids). */
function tail(bytes: Buffer): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += ALPHABET[bytes[i]! % ALPHABET.length];
  return s;
}

/** A random Tencent upstream id; the caller retries on the (rare) collision. */
export function newTencentUpstreamId(): string {
  return newPrefixedId('upstream');
}

/** `prefix-` and 8 characters of Tencent's alphabet (`lg-`, `link-`, `listener-`, `rs-`...). */
export function newPrefixedId(prefix: string): string {
  return `${prefix}-${tail(randomBytes(8))}`;
}

/**
 * The Tencent id a stored upstream gets on upgrade: derived from its canonical id, so that
 * migrating the same data twice (SQLite or PostgreSQL) gives the same answer; `attempt`
 * steps past a collision.
 */
export function derivedTencentUpstreamId(canonicalId: string, attempt = 0): string {
  return `upstream-${tail(createHash('sha256').update(`${canonicalId}/${attempt}`).digest())}`;
}
