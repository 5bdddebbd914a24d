/**
 * A connection's buffer for the heads it writes (and small bodies with them); it is written
 * into only when the last write from it was taken whole (the socket's writableLength is 0).
 * `view(n)` is buf[0..n) for a write, the view of last time when the length is the same: a
 * keep-alive connection's heads are mostly alike in size, and a new view costs V8 a typed-array
 * construction and an allocation per write (about 400 instructions under callgrind).
 */
export class OutBuffer {
  readonly buf: Buffer;
  private last: Buffer;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafeSlow(size);
    this.last = this.buf;
  }

  view(n: number): Buffer {
    const v = this.last;
    if (v.length === n) return v;
    this.last = n === this.buf.length ? this.buf : this.buf.subarray(0, n);
    return this.last;
  }
}
