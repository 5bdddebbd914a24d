import { isIPv6 } from 'node:net';

// The one rule for where a member lives and what Host header an upstream sends. Every face
// reaches it through validateUpstream; the data plane builds connection pools from these
// hosts, so anything that passes here must also be a host the URL parser takes as written.

/** Four decimal octets 0-255, no leading zeros (a leading zero reads as octal to some parsers). */
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/**
 * A DNS label. Underscores are allowed: container and service-discovery names use them
 * (`my_service`), resolvers and the URL parser take them, and they cannot bend a URL.
 */
const LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
/** A last label the URL parser would read as a number, turning `1.2.3` into 1.2.0.3. */
const NUMERIC_LABEL = /^(\d+|0x[0-9a-f]*)$/i;

export function isIPv4Literal(host: string): boolean {
  return IPV4.test(host);
}

/** node:net's IPv6 check, without zone ids (`fe80::1%eth0`): URLs cannot carry them. */
export function isIPv6Literal(host: string): boolean {
  return !host.includes('%') && isIPv6(host);
}

function dnsNameProblem(host: string): string | null {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length > 253) return 'is longer than 253 characters';
  const labels = name.split('.');
  for (const label of labels) {
    if (label === '') return 'has an empty label';
    if (label.length > 63) return 'has a label longer than 63 characters';
    if (!LABEL.test(label)) return 'is not an IPv4 address, an IPv6 address or a DNS name (labels of letters, digits, hyphens, underscores; no hyphen at either end)';
  }
  if (NUMERIC_LABEL.test(labels[labels.length - 1]!)) return 'is neither a dotted-quad IPv4 address nor a DNS name (its last label is a number)';
  return null;
}

/**
 * Why `host` cannot be a member host, or null if it can: an IPv4 literal, an IPv6 literal
 * without brackets (see normaliseMemberHost), or a DNS name with one optional trailing dot.
 */
export function memberHostProblem(host: string): string | null {
  if (host === '') return 'is required';
  if (isIPv4Literal(host) || isIPv6Literal(host)) return null;
  if (host.includes(':') || host.startsWith('[')) return 'is not a valid IPv6 address (give it bare or in one pair of brackets)';
  return dnsNameProblem(host);
}

/** `[2001:db8::1]` -> `2001:db8::1`: brackets are URL syntax, not part of the stored host. */
export function normaliseMemberHost(host: string): string {
  if (host.startsWith('[') && host.endsWith(']')) {
    const inner = host.slice(1, -1);
    if (isIPv6Literal(inner)) return inner;
  }
  return host;
}

/**
 * Why `value` cannot be an upstream Host header, or null if it can: a member-style host
 * (IPv6 in brackets here, as in a Host header), then optionally `:port`.
 */
export function upstreamHostProblem(value: string): string | null {
  if (value === '') return 'has no host';
  if (!value.startsWith('[') && value.indexOf(':') !== value.lastIndexOf(':')) {
    return 'must put an IPv6 address in brackets ([2001:db8::1]:8080)';
  }
  const m = /^(\[[^\]]*\]|[^:]*)(?::([\s\S]*))?$/.exec(value);
  if (!m) return 'is not host or host:port';
  const host = m[1]!;
  const port = m[2];
  if (port !== undefined && (!/^\d{1,5}$/.test(port) || Number(port) > 65535)) return 'has a port that is not a number from 0 to 65535';
  if (host.startsWith('[')) {
    return host.endsWith(']') && isIPv6Literal(host.slice(1, -1)) ? null : 'is not a valid [IPv6] address';
  }
  if (host === '') return 'has no host';
  if (isIPv4Literal(host)) return null;
  return dnsNameProblem(host);
}

/** An IPv4 client address a dual-stack socket reports in mapped form (::ffff:a.b.c.d), as IPv4. */
export function unmappedIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIPv4Literal(ip.slice(7)) ? ip.slice(7) : ip;
}
