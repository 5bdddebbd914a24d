/**
 * Two Host headers make the target ambiguous (RFC 9112 3.2: answer 400): Node keeps the first
 * for `req.headers.host`, and a member or a cache behind us may read the other. Walks the raw
 * list looking only at 4-character names, by character code so that nothing is allocated.
 */
export function hasDuplicateHost(raw: readonly string[]): boolean {
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    // `| 0x20` lower-cases an ASCII letter; h o s t = 0x68 0x6f 0x73 0x74.
    if (n.length === 4 && (n.charCodeAt(0) | 0x20) === 0x68 && (n.charCodeAt(1) | 0x20) === 0x6f
      && (n.charCodeAt(2) | 0x20) === 0x73 && (n.charCodeAt(3) | 0x20) === 0x74) {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}
