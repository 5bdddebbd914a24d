/**
 * A connection's buffer for the heads it writes (and small bodies with them). It is written
 * into only when the last write from it was taken whole (the socket's writableLength is 0):
 * otherwise Node still holds it, and `take` hands out a new buffer instead.
 * A keep-alive connection's heads are mostly alike in size, so `slice` gives the view of last
 * time when the length repeats: a new view costs V8 a typed-array construction and an
 * allocation per write (about 400 instructions under callgrind).
 */
export class OutBuffer {
  readonly buf: Buffer;
  private last: Buffer;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafeSlow(size);
    this.last = this.buf;
  }

  /** `buf` when `bound` bytes fit and the socket holds nothing of it; else a new buffer of `size`. */
  take(writableLength: number, bound: number, size: number): Buffer {
    return writableLength === 0 && bound <= this.buf.length ? this.buf : Buffer.allocUnsafe(size);
  }

  /** out[0..n) for a write, where `out` came from `take`. */
  slice(out: Buffer, n: number): Buffer {
    if (out !== this.buf) return n === out.length ? out : out.subarray(0, n);
    const v = this.last;
    if (v.length === n) return v;
    this.last = n === out.length ? out : out.subarray(0, n);
    return this.last;
  }
}
