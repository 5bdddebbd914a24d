/**
 * The Date field a proxy MUST add to an answer that came without one (RFC 9110 6.6.1).
 * Formatted at most once per second of the clock it is given (the listener's once-a-second
 * check), so that no answer formats a date.
 */
let second = -1;
let field: Buffer = Buffer.alloc(0);

export function dateField(nowMs: number): Buffer {
  const s = Math.floor(nowMs / 1000);
  if (s !== second) {
    second = s;
    field = Buffer.from(`Date: ${new Date(s * 1000).toUTCString()}\r\n`, 'latin1');
  }
  return field;
}
