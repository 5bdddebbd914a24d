import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A response for a request Node handed to the 'upgrade' listener but that is not a WebSocket
 * (`Upgrade: h2c`, `tls/1.0`, ...), so that it is answered as the ordinary HTTP/1.1 request it
 * also is, as nginx and Envoy do: `curl --http2` against http:// must get its normal answer.
 *
 * Node 20 has no public way to keep such a request on the HTTP path once an 'upgrade' listener
 * exists: it detaches its parser from the socket before emitting. So the response is a
 * ServerResponse bound to that socket by hand, with keep-alive off (`Connection: close`),
 * since nothing would parse a next request on it. Node also unhooked the socket's 'drain'
 * and 'error' handling; drain is passed on here for the forwarder's backpressure.
 */
export function plainResponse(req: IncomingMessage, socket: Socket): ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  const drain = (): void => { if (res.writableNeedDrain) res.emit('drain'); };
  socket.on('drain', drain);
  res.once('finish', () => {
    socket.off('drain', drain);
    res.detachSocket(socket);
    socket.destroySoon();
  });
  return res;
}

/**
 * Node does not read the body of a request it treats as an upgrade: those bytes would be the
 * tunnel's. `curl --http2 -d ...` sends one, so a Content-Length body up to `max` bytes is read
 * here (see readUpgradeBody); a chunked or larger one is refused, as it could not be replayed
 * on a retry either. Null when the request can be served; else why not, naming the header.
 */
export function upgradeBodyProblem(req: IncomingMessage, max: number): string | null {
  return upgradeBodyProblemOf(req.headers['transfer-encoding'] !== undefined, req.headers['content-length'], max);
}

/** upgradeBodyProblem from what the request says of its body (the lean engine's parsed head). */
export function upgradeBodyProblemOf(transferEncoding: boolean, contentLength: string | undefined, max: number): string | null {
  const send = 'send it without Upgrade';
  if (transferEncoding) return `Transfer-Encoding is not served with an Upgrade other than websocket; ${send}`;
  const len = contentLength;
  if (len !== undefined && !(/^\d+$/.test(len) && Number(len) <= max)) return `Content-Length with an Upgrade other than websocket may be at most ${max}; ${send}`;
  return null;
}

/**
 * The `length` body bytes behind an upgrade head: what Node already read (`head`) and the
 * rest from the socket, within `deadlineMs`; null if the client stops short or is too slow.
 */
export function readUpgradeBody(socket: Socket, head: Buffer, length: number, deadlineMs: number, done: (body: Buffer | null) => void): void {
  if (head.length >= length) { done(head.subarray(0, length)); return; }
  const chunks: Buffer[] = [head];
  let size = head.length;
  const finish = (body: Buffer | null): void => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', short);
    socket.off('close', short);
    socket.pause();
    done(body);
  };
  const onData = (c: Buffer): void => {
    chunks.push(c);
    size += c.length;
    if (size >= length) finish(Buffer.concat(chunks, size).subarray(0, length));
  };
  const short = (): void => finish(null);
  const timer = setTimeout(short, deadlineMs);
  socket.on('data', onData);
  socket.once('end', short);
  socket.once('close', short);
}
