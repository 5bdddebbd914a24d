/**
 * A request with an Upgrade other than websocket (`Upgrade: h2c`, `tls/1.0`, ...) is answered
 * as the ordinary HTTP/1.1 request it also is, as nginx and Envoy do (`curl --http2` against
 * http:// must get its normal answer), but only with a body that could be replayed: a chunked
 * or larger one is refused. Null when the request can be served; else why not, naming the header.
 */
export function upgradeBodyProblemOf(transferEncoding: boolean, contentLength: string | undefined, max: number): string | null {
  const send = 'send it without Upgrade';
  if (transferEncoding) return `Transfer-Encoding is not served with an Upgrade other than websocket; ${send}`;
  const len = contentLength;
  if (len !== undefined && !(/^\d+$/.test(len) && Number(len) <= max)) return `Content-Length with an Upgrade other than websocket may be at most ${max}; ${send}`;
  return null;
}
