import { DEFAULT_HEAD_LIMITS, type HeadLimits } from './head.js';
import * as chars from './chars.js';

// Local copies: an imported binding costs a module-cell load and a hole check at every use (parse.ts).
const { BACKSLASH, COLON, CR, DQUOTE, EQUALS, FVCHAR, HEX, HT, LF, LOWER, QDTEXT, SEMI, SP, TCHAR } = chars;

const K = (s: string): Buffer => Buffer.from(s, 'latin1');

// Chunked framing states (RFC 9112 7.1).
const S_SIZE0 = 0, S_SIZE = 1, S_EXT_NAME0 = 2, S_EXT_NAME = 3, S_EXT_VAL0 = 4, S_EXT_VAL = 5, S_EXT_Q = 6,
  S_EXT_QP = 7, S_EXT_QEND = 8, S_SIZE_LF = 9, S_DATA = 10, S_DATA_CR = 11, S_DATA_LF = 12, S_TRL_START = 13,
  S_TRL_NAME = 14, S_TRL_VALUE = 15, S_TRL_LF = 16, S_END_LF = 17, S_DONE = 18;
/** A chunk-size line (size and extensions) is at most this long. */
export const MAX_CHUNK_LINE = 4096;
/** Extension bytes per message (node's own bound since CVE-2024-22019). */
export const MAX_CHUNK_EXTENSIONS = 16 * 1024;
const MAX_CHUNK_SIZE = Number.MAX_SAFE_INTEGER;
/** Trailer fields that would change framing or routing if a recipient merged them into the head. */
const FORBIDDEN_TRAILERS = [K('content-length'), K('transfer-encoding'), K('host')];
const ALL_FORBIDDEN = (1 << FORBIDDEN_TRAILERS.length) - 1;

/** Where a scan hands the data of each chunk. */
export interface ChunkSink { chunkData(b: Buffer, s: number, e: number): void }

/**
 * Follows a chunked body over raw bytes that are forwarded unchanged (RFC 9112 7.1): chunk
 * sizes, extensions (bounded), data, the last chunk and the trailer section (validated like
 * fields, bounded by the head limit). One per connection direction, reset per message.
 * Stricter than the RFC where llhttp is: no whitespace in a chunk line (the RFC's BWS around
 * ';' and '='), CRLF only. Trailers naming Content-Length, Transfer-Encoding or Host are refused.
 */
export class ChunkedFraming {
  /** The message's body is complete (the final CRLF after the trailers was seen). */
  done = false;
  /** Why the framing was refused. */
  error = '';
  /** Body data bytes (chunk contents) seen so far in this message. */
  dataBytes = 0;
  private state = S_SIZE0;
  private size = 0;
  private line = 0;
  private ext = 0;
  private trailerBytes = 0;
  private trailerFields = 0;
  private nameAt = 0;
  private forbidden = 0;
  private readonly maxTrailerBytes: number;
  private readonly maxTrailerFields: number;

  constructor(limits: HeadLimits = DEFAULT_HEAD_LIMITS) {
    this.maxTrailerBytes = limits.maxHeadBytes;
    this.maxTrailerFields = limits.maxFields;
  }

  reset(): void {
    this.done = false; this.error = ''; this.dataBytes = 0;
    this.state = S_SIZE0; this.size = 0; this.line = 0; this.ext = 0;
    this.trailerBytes = 0; this.trailerFields = 0; this.nameAt = 0; this.forbidden = 0;
  }

  private refuse(why: string): number {
    this.error = why;
    return -1;
  }

  /**
   * Scans b[start..end): the offset reached (== end, or the message's end when `done`), or -1
   * when the framing is invalid. `sink`, when given, is handed each run of chunk data (for a
   * recipient that takes the framing off, as an HTTP/1.0 client must get it).
   */
  scan(b: Buffer, start: number, end: number, sink: ChunkSink | null = null): number {
    let p = start, s = this.state;
    if (s === S_DONE) return start;
    while (p < end) {
      if (s === S_DATA) {
        const take = Math.min(this.size, end - p);
        if (sink !== null && take > 0) sink.chunkData(b, p, p + take);
        this.size -= take;
        this.dataBytes += take;
        p += take;
        if (this.size === 0) s = S_DATA_CR;
        continue;
      }
      const c = b[p]!;
      if (s < S_DATA) {
        if (++this.line > MAX_CHUNK_LINE) return this.refuse(`chunk line longer than ${MAX_CHUNK_LINE} bytes`);
        if (s >= S_EXT_NAME0 && s <= S_EXT_QEND && ++this.ext > MAX_CHUNK_EXTENSIONS) {
          return this.refuse(`chunk extensions longer than ${MAX_CHUNK_EXTENSIONS} bytes in one message`);
        }
      } else if (s >= S_TRL_START && ++this.trailerBytes > this.maxTrailerBytes) {
        return this.refuse(`trailer section larger than ${this.maxTrailerBytes} bytes`);
      }
      switch (s) {
        case S_SIZE0: {
          const d = HEX[c]!;
          if (d === 255) return this.refuse('chunk size: not a hex digit');
          this.size = d;
          s = S_SIZE;
          break;
        }
        case S_SIZE: {
          const d = HEX[c]!;
          if (d !== 255) {
            this.size = this.size * 16 + d;
            if (this.size > MAX_CHUNK_SIZE) return this.refuse('chunk size: too large');
          } else if (c === CR) s = S_SIZE_LF;
          else if (c === SEMI) s = S_EXT_NAME0;
          else return this.refuse('chunk size: invalid byte');
          break;
        }
        case S_EXT_NAME0:
          if (TCHAR[c] !== 1) return this.refuse('chunk extension: invalid name');
          s = S_EXT_NAME;
          break;
        case S_EXT_NAME:
          if (c === EQUALS) s = S_EXT_VAL0;
          else if (c === SEMI) s = S_EXT_NAME0;
          else if (c === CR) s = S_SIZE_LF;
          else if (TCHAR[c] !== 1) return this.refuse('chunk extension: invalid name');
          break;
        case S_EXT_VAL0:
          if (c === DQUOTE) s = S_EXT_Q;
          else if (TCHAR[c] === 1) s = S_EXT_VAL;
          else return this.refuse('chunk extension: invalid value');
          break;
        case S_EXT_VAL:
          if (c === SEMI) s = S_EXT_NAME0;
          else if (c === CR) s = S_SIZE_LF;
          else if (TCHAR[c] !== 1) return this.refuse('chunk extension: invalid value');
          break;
        case S_EXT_Q:
          if (c === DQUOTE) s = S_EXT_QEND;
          else if (c === BACKSLASH) s = S_EXT_QP;
          else if (QDTEXT[c] !== 1) return this.refuse('chunk extension: invalid byte in a quoted value');
          break;
        case S_EXT_QP:
          if (FVCHAR[c] !== 1) return this.refuse('chunk extension: invalid quoted-pair');
          s = S_EXT_Q;
          break;
        case S_EXT_QEND:
          if (c === SEMI) s = S_EXT_NAME0;
          else if (c === CR) s = S_SIZE_LF;
          else return this.refuse('chunk extension: invalid byte after a quoted value');
          break;
        case S_SIZE_LF:
          if (c !== LF) return this.refuse('chunk line: bare CR');
          this.line = 0;
          s = this.size === 0 ? S_TRL_START : S_DATA;
          break;
        case S_DATA_CR:
          if (c !== CR) return this.refuse('chunk data: not followed by CRLF');
          s = S_DATA_LF;
          break;
        case S_DATA_LF:
          if (c !== LF) return this.refuse('chunk data: not followed by CRLF');
          s = S_SIZE0;
          break;
        case S_TRL_START:
          if (c === CR) s = S_END_LF;
          else if (TCHAR[c] === 1) {
            if (this.trailerFields === this.maxTrailerFields) return this.refuse(`more than ${this.maxTrailerFields} trailer fields`);
            this.nameAt = 0;
            this.forbidden = ALL_FORBIDDEN;
            this.trailerName(c);
            s = S_TRL_NAME;
          } else return this.refuse(c === SP || c === HT ? 'trailer: a line starts with whitespace (obs-fold)' : 'trailer: invalid field name');
          break;
        case S_TRL_NAME:
          if (c === COLON) {
            for (let i = 0; i < FORBIDDEN_TRAILERS.length; i++) {
              if ((this.forbidden & (1 << i)) !== 0 && FORBIDDEN_TRAILERS[i]!.length === this.nameAt) {
                return this.refuse('trailer: Content-Length, Transfer-Encoding or Host in trailers');
              }
            }
            s = S_TRL_VALUE;
          } else if (TCHAR[c] === 1) this.trailerName(c);
          else return this.refuse('trailer: whitespace or an invalid byte in a field name');
          break;
        case S_TRL_VALUE:
          if (c === CR) s = S_TRL_LF;
          else if (FVCHAR[c] !== 1) return this.refuse('trailer: control byte in a value');
          break;
        case S_TRL_LF:
          if (c !== LF) return this.refuse('trailer: bare CR');
          this.trailerFields++;
          s = S_TRL_START;
          break;
        case S_END_LF:
          if (c !== LF) return this.refuse('trailer section: bare CR');
          this.state = S_DONE;
          this.done = true;
          return p + 1;
      }
      p++;
    }
    this.state = s;
    return p;
  }

  /** Narrows the forbidden names the trailer field name being read can still be. */
  private trailerName(c: number): void {
    const i = this.nameAt++;
    if (this.forbidden === 0) return;
    const lc = LOWER[c]!;
    for (let j = 0; j < FORBIDDEN_TRAILERS.length; j++) {
      const k = FORBIDDEN_TRAILERS[j]!;
      if (i >= k.length || k[i] !== lc) this.forbidden &= ~(1 << j);
    }
  }
}
