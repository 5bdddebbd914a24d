import { createHash } from 'node:crypto';

/** RFC 6455 4.2.2: what a server appends to the client's key before hashing it. */
const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Base64 of exactly 16 bytes: 22 characters, one whose low 4 bits are zero, then `==`. */
const KEY = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

/**
 * What is wrong with a WebSocket handshake request, naming the header; null when it is fine.
 * Takes the fields' values as sent (a repeated field's values joined with ', ').
 *
 * The only upgrade passed through as a tunnel is a GET whose Upgrade is exactly `websocket`
 * (lean/client.ts): anything else (h2c, tls/1.0, several tokens) could open a channel to paths
 * no route exposes once a member agrees to it, so it is served as a plain request instead.
 */
export function webSocketProblemOf(key: string | undefined, version: string | undefined): string | null {
  if (key === undefined || !KEY.test(key.trim())) return 'Sec-WebSocket-Key must be the base64 of 16 bytes';
  if (version?.trim() !== '13') return 'Sec-WebSocket-Version must be 13';
  return null;
}

/** The Sec-WebSocket-Accept a member must answer the client's key with. */
export function webSocketAccept(key: string): string {
  return createHash('sha1').update(key.trim() + ACCEPT_GUID).digest('base64');
}
