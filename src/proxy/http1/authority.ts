import * as chars from './chars.js';

// A local copy: an imported binding costs a module-cell load and a hole check at every use (parse.ts).
const { HEX } = chars;

/**
 * Host field values and absolute-form authorities: uri-host [ ":" port ] (RFC 9110 7.2,
 * RFC 3986 3.2.2), narrowed to what names a host we can route to: a reg-name of unreserved
 * bytes and pct-encodings (no sub-delims), or an IP-literal in brackets; a port up to
 * 65535. Whitespace, controls, '@', '/', '\' and the like are refused, so that a Host
 * cannot smuggle a path or userinfo into a member's or a log reader's view of the URL.
 * An empty value is valid (RFC 9112 3.2: a target without authority sends an empty Host).
 */

const REGNAME = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e) REGNAME[c] = 1;
}
/** IPv6address and IPvFuture bytes, checked for shape only (hex, ':', '.', and IPvFuture's letters). */
const IPLIT = new Uint8Array(256);
for (let c = 0; c < 256; c++) if (REGNAME[c] === 1 || c === 0x3a) IPLIT[c] = 1;

const PERCENT = 0x25, COLON = 0x3a, LBRACKET = 0x5b, RBRACKET = 0x5d;

export function validAuthority(b: Buffer, s: number, e: number): boolean {
  if (s === e) return true;
  let p = s;
  if (b[p] === LBRACKET) {
    p++;
    while (p < e && IPLIT[b[p]!] === 1) p++;
    if (p === s + 1 || p >= e || b[p] !== RBRACKET) return false;
    p++;
  } else {
    while (p < e) {
      const c = b[p]!;
      if (REGNAME[c] === 1) p++;
      else if (c === PERCENT && p + 2 < e && HEX[b[p + 1]!] !== 255 && HEX[b[p + 2]!] !== 255) p += 3;
      else break;
    }
    if (p === s) return false;
  }
  if (p === e) return true;
  if (b[p] !== COLON) return false;
  let port = 0;
  for (p++; p < e; p++) {
    const d = b[p]! - 0x30;
    if (d < 0 || d > 9) return false;
    port = port * 10 + d;
    if (port > 65535) return false;
  }
  return true;
}
