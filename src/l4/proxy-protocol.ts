import { isIPv4, isIPv6 } from 'node:net';
import { ipBytes } from '../model/address-pool.js';
import { unmappedIp } from '../model/host.js';

/** The PROXY protocol v2 signature (12 bytes). */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);


export interface ConnectionEnds {
  clientIp: string;
  clientPort: number;
  /** The address and port the client reached (the proxy's), not the origin's. */
  localIp: string;
  localPort: number;
}

/**
 * PROXY protocol v1, the line GAAP documents: `PROXY TCP4 <client> <proxy> <cport> <pport>\r\n`.
 * Both ends are written in one family; a mixed pair (an IPv4 client mapped onto an IPv6
 * listener) is written as TCP6 with the IPv4 address in mapped form.
 */
export function proxyV1(e: ConnectionEnds): Buffer {
  const c = unmappedIp(e.clientIp);
  const l = unmappedIp(e.localIp);
  if (isIPv4(c) && isIPv4(l)) return Buffer.from(`PROXY TCP4 ${c} ${l} ${e.clientPort} ${e.localPort}\r\n`, 'latin1');
  return Buffer.from(`PROXY TCP6 ${v6(c)} ${v6(l)} ${e.clientPort} ${e.localPort}\r\n`, 'latin1');
}

function v6(ip: string): string {
  return isIPv6(ip) ? ip : `::ffff:${ip}`;
}

/** PROXY protocol v2 (binary): PROXY command over TCP4 (family 0x11) or TCP6 (0x21). */
export function proxyV2(e: ConnectionEnds): Buffer {
  const c = unmappedIp(e.clientIp);
  const l = unmappedIp(e.localIp);
  const four = isIPv4(c) && isIPv4(l);
  const src = ipBytes(four ? c : v6(c));
  const dst = ipBytes(four ? l : v6(l));
  const addrLen = 2 * src.length + 4;
  const out = Buffer.alloc(16 + addrLen);
  V2_SIGNATURE.copy(out, 0);
  out[12] = 0x21;
  out[13] = four ? 0x11 : 0x21;
  out.writeUInt16BE(addrLen, 14);
  src.copy(out, 16);
  dst.copy(out, 16 + src.length);
  out.writeUInt16BE(e.clientPort, 16 + 2 * src.length);
  out.writeUInt16BE(e.localPort, 18 + 2 * src.length);
  return out;
}
