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
 * Node does not read the body of a request it treats as an upgrade: those bytes are the
 * tunnel's. A non-WebSocket upgrade that has one cannot be served as a plain request, so it
 * is refused (the client can send it again without `Upgrade`).
 */
export function upgradeHasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return (len !== undefined && len.trim() !== '0') || req.headers['transfer-encoding'] !== undefined;
}
