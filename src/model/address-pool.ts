import { isIP } from 'node:net';
import { ModelError } from './errors.js';

// A region's address pool: single IPs and CIDRs, v4 or v6. Addresses are walked lazily in
// pool order so that a large CIDR costs only as many steps as addresses already taken.

interface Block { family: 4 | 6; first: bigint; count: bigint }

function toBig(ip: string, family: 4 | 6): bigint {
  if (family === 4) return ip.split('.').reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n);
  const [head, tail] = ip.includes('::') ? ip.split('::') as [string, string] : [ip, ''];
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const expand = (parts: string[]) => parts.flatMap((p) => (p.includes('.') ? [(toBig(p, 4) >> 16n).toString(16), (toBig(p, 4) & 0xffffn).toString(16)] : [p]));
  const hh = expand(h); const tt = expand(t);
  const groups = [...hh, ...Array(8 - hh.length - tt.length).fill('0'), ...tt];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** An IP address as its network-order bytes (4 or 16), for wire formats such as PROXY v2. */
export function ipBytes(ip: string): Buffer {
  const family = isIP(ip);
  if (family !== 4 && family !== 6) throw new Error(`not an IP address: ${ip.slice(0, 64)}`);
  const n = toBig(ip, family);
  const out = Buffer.alloc(family === 4 ? 4 : 16);
  for (let i = out.length - 1, v = n; i >= 0; i--, v >>= 8n) out[i] = Number(v & 255n);
  return out;
}

function fromBig(n: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => ((n >> s) & 0xffffn).toString(16));
  // Canonical text (RFC 5952): the longest run of zero groups collapsed.
  let best = -1; let len = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i; while (j < 8 && groups[j] === '0') j++;
    if (j - i > len && j - i > 1) { best = i; len = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + len).join(':')}`;
}

/** One pool entry as a block of addresses, or a ModelError naming `field`. */
export function parsePoolEntry(entry: string, field: string): Block {
  const [ip, bits, extra] = entry.split('/');
  const family = isIP(ip ?? '');
  if (extra !== undefined || (family !== 4 && family !== 6)) {
    throw new ModelError('bad_format', field, `${field} "${entry.slice(0, 64)}" is not an IP address or CIDR`, { value: entry.slice(0, 64), reason: 'is not an IP address or CIDR' });
  }
  const width = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? width : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= width)) {
    throw new ModelError('bad_format', field, `${field} "${entry.slice(0, 64)}" has a prefix length outside 0-${width}`, { value: entry.slice(0, 64), reason: `has a prefix length outside 0-${width}` });
  }
  const hostBits = BigInt(width - prefix);
  let first = (toBig(ip!, family) >> hostBits) << hostBits;
  let count = 1n << hostBits;
  // An IPv4 subnet's network and broadcast addresses are no host's (/31 and /32 have neither).
  if (family === 4 && prefix < 31) { first += 1n; count -= 2n; }
  return { family, first, count };
}

/** Addresses of `family` in pool order, one at a time. */
export function* poolAddresses(pool: readonly string[], family: 4 | 6): Generator<string> {
  for (const [i, entry] of pool.entries()) {
    const b = parsePoolEntry(entry, `pool[${i}]`);
    if (b.family !== family) continue;
    for (let k = 0n; k < b.count; k++) yield fromBig(b.first + k, family);
  }
}

/** The address text every comparison uses (v6 compressed, lower-case). */
export function canonicalAddress(ip: string): string {
  const family = isIP(ip);
  return family === 4 || family === 6 ? fromBig(toBig(ip, family), family) : ip;
}
