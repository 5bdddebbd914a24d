import type { HeadLimits, RequestHead, ResponseHead } from './head.js';

/**
 * Parses a request head at b[start..end). Returns the offset just past the head's final CRLF
 * (the body, or the next pipelined request, starts there), NEED_MORE, or a negative status to
 * answer with and close: -400 (malformed; `h.error` says what), -431 (head or field count past
 * `limits`), -501 (a method or framing the gateway does not carry, e.g. CONNECT, a
 * Transfer-Encoding other than a final chunked), -505 (HTTP major version not 1).
 * Whole-message rules are checked here too: Content-Length with Transfer-Encoding, a repeated
 * or non-digit Content-Length, Host missing or repeated in HTTP/1.1.
 */
export function parseRequestHead(_b: Buffer, _start: number, _end: number, _h: RequestHead, _limits: HeadLimits): number {
  throw new Error('parseRequestHead: not built yet');
}

/**
 * Parses a response head at b[start..end): the offset past it, NEED_MORE, or -502 (malformed
 * or too large; `h.error` says what). 1xx heads are returned like any other: the caller reads
 * `h.status` and parses again after them.
 */
export function parseResponseHead(_b: Buffer, _start: number, _end: number, _h: ResponseHead, _limits: HeadLimits): number {
  throw new Error('parseResponseHead: not built yet');
}

/**
 * Follows a chunked body over raw bytes that are forwarded unchanged (RFC 9112 7.1): chunk
 * sizes, extensions (bounded), data, the last chunk and the trailer section (validated like
 * fields, bounded by the head limit). One per connection direction, reset per message.
 */
export class ChunkedFraming {
  /** The message's body is complete (the final CRLF after the trailers was seen). */
  done = false;
  /** Why the framing was refused. */
  error = '';
  reset(): void { throw new Error('ChunkedFraming: not built yet'); }
  /** Scans b[start..end): the offset reached (== end, or the message's end when `done`), or -1 when the framing is invalid. */
  scan(_b: Buffer, _start: number, _end: number): number { throw new Error('ChunkedFraming: not built yet'); }
}
