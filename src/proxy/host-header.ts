/**
 * Two Host headers make the target ambiguous (RFC 9112 3.2: answer 400): Node keeps the first
 * for `req.headers.host`, and a member or a cache behind us may read the other. Walks the raw
 * list comparing only 4-character names, so the usual request costs a few length checks.
 */
export function hasDuplicateHost(raw: readonly string[]): boolean {
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 4) continue;
    if (name === 'Host' || name === 'host' || name.toLowerCase() === 'host') {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}
