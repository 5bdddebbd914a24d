/**
 * Chunked framing for a close-delimited member answer (neither Content-Length nor chunked) sent
 * to an HTTP/1.1 client, as nginx does: each read from the member goes as one chunk, and the
 * member's close becomes the last chunk, so the end of the answer no longer has to be marked by
 * closing the client connection, which then stays open for its next request. A member that
 * resets instead of closing gets no last chunk: the client sees the answer cut short, where the
 * close-delimited form could not tell it. HTTP/1.0 clients cannot take chunked and keep the
 * close-delimited form.
 */

export const CRLF: Buffer = Buffer.from('\r\n', 'latin1');
export const LAST_CHUNK: Buffer = Buffer.from('0\r\n\r\n', 'latin1');

/**
 * The size line of a chunk of `n` (> 0) bytes. A new buffer each read: a write may still hold
 * the last one, and only this rare framing pays for it.
 */
export function chunkSizeLine(n: number): Buffer {
  return Buffer.from(`${n.toString(16)}\r\n`, 'latin1');
}
