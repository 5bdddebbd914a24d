/** Where a Dechunker hands the data of each chunk. */
export interface ChunkSink { chunkData(b: Buffer, s: number, e: number): void }

const SIZE = 0;
const EXT = 1;
const SIZE_LF = 2;
const DATA = 3;
const DATA_CR = 4;
const DATA_LF = 5;
const TRAILER = 6;
const TRAILER_LF = 7;
const DONE = 8;

const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) { HEX[0x41 + c] = 10 + c; HEX[0x61 + c] = 10 + c; }

/** Chunk-size digits beyond this are refused (2^52 bytes: past any real body). */
const MAX_SIZE_DIGITS = 13;
/** Extension and trailer bytes are bounded like a head. */
const MAX_META = 16 * 1024;

/**
 * Takes the chunked framing off an answer for an HTTP/1.0 client, which cannot be sent
 * chunked (it gets the data close-delimited). Only that rare case comes here; the member's
 * answer was already head-validated, and its framing errors end the exchange.
 */
export class Dechunker {
  done = false;
  private s = SIZE;
  private size = 0;
  private digits = 0;
  private meta = 0;
  /** Bytes on the current trailer line (0: the blank line ending the message). */
  private line = 0;

  reset(): void { this.done = false; this.s = SIZE; this.size = 0; this.digits = 0; this.meta = 0; this.line = 0; }

  /** Scans b[p..e): the offset reached (the message's end once `done`), or -1 on bad framing. */
  scan(b: Buffer, p: number, e: number, sink: ChunkSink): number {
    while (p < e) {
      const c = b[p]!;
      switch (this.s) {
        case SIZE: {
          const d = HEX[c]!;
          if (d >= 0) {
            if (++this.digits > MAX_SIZE_DIGITS) return -1;
            this.size = this.size * 16 + d;
          } else if (this.digits === 0) return -1;
          else if (c === 0x3b) this.s = EXT;
          else if (c === 0x0d) this.s = SIZE_LF;
          else return -1;
          p++;
          break;
        }
        case EXT:
          if (c === 0x0d) this.s = SIZE_LF;
          else if (++this.meta > MAX_META) return -1;
          p++;
          break;
        case SIZE_LF:
          if (c !== 0x0a) return -1;
          p++;
          this.digits = 0;
          if (this.size === 0) { this.s = TRAILER; this.line = 0; } else this.s = DATA;
          break;
        case DATA: {
          const take = Math.min(this.size, e - p);
          sink.chunkData(b, p, p + take);
          this.size -= take;
          p += take;
          if (this.size === 0) this.s = DATA_CR;
          break;
        }
        case DATA_CR: if (c !== 0x0d) return -1; this.s = DATA_LF; p++; break;
        case DATA_LF: if (c !== 0x0a) return -1; this.s = SIZE; p++; break;
        case TRAILER:
          if (c === 0x0d) this.s = TRAILER_LF;
          else if (++this.meta > MAX_META) return -1;
          else this.line++;
          p++;
          break;
        case TRAILER_LF:
          if (c !== 0x0a) return -1;
          p++;
          if (this.line === 0) { this.s = DONE; this.done = true; return p; }
          this.line = 0;
          this.s = TRAILER;
          break;
        default: return p;
      }
    }
    return p;
  }
}
