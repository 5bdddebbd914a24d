/**
 * The contract of the lean HTTP/1.1 engine's parser (issue: "A lean HTTP/1.1 data path"): a strict
 * RFC 9112 head parser and chunked framing tracker over raw bytes. The parser is the security
 * boundary of the L7 plane: it must refuse whatever llhttp (node:http) refuses, and agree with
 * it on every message boundary where both accept (the differential fuzz test holds it to that).
 *
 * Heads are parsed in place: field positions are offsets into the caller's buffer, so that the
 * engine can copy the fields it forwards straight into the upstream's buffer without making a
 * string or an object per field. One head object is reused per connection.
 */

/** The head is not complete in the bytes given: call again with more. */
export const NEED_MORE = -1;

export interface HeadLimits {
  /** Start line, fields and CRLFs together (node:http's default: 16 KiB). */
  maxHeadBytes: number;
  /** Field lines. */
  maxFields: number;
}

export const DEFAULT_HEAD_LIMITS: HeadLimits = { maxHeadBytes: 16 * 1024, maxFields: 128 };

/**
 * Per-field flags (the `flags` array of a head). FIELD_HOP is the one bit an engine needs to copy
 * a head: a field with it is not forwarded as received. The other bits say why, for the fields
 * the engine writes itself instead (each of those carries FIELD_HOP too).
 */
export const FIELD_HOP = 1; // not forwarded: hop-by-hop (RFC 9110 7.6.1), named in Connection, or set by the gateway
export const FIELD_HOST = 2; // host (requests): the engine writes the member's Host
export const FIELD_XFF = 4; // x-forwarded-for (requests): the engine appends the client's address to these values
/** x-forwarded-proto, x-forwarded-host, x-real-ip (requests): the engine sets them from the connection. */
export const FIELD_FORWARDED = 8;

/** What both request and response heads carry. */
export interface Fields {
  /** Per field i: fields[4i..4i+3] = name start, name end, value start, value end (value trimmed of OWS). */
  readonly fields: Int32Array;
  /** Per field i: FIELD_* bits. */
  readonly flags: Uint8Array;
  /** Field lines in this head. */
  count: number;
  /** HTTP/1.minor. */
  minor: number;
  /** Content-Length; -1 when absent. */
  contentLength: number;
  /** Transfer-Encoding ends in chunked (the only coding accepted). */
  chunked: boolean;
  /** The connection persists after this message (the version's default, Connection: close / keep-alive). */
  keepAlive: boolean;
  /** Why the head was refused: names the part (for the answer's message and the access log). */
  error: string;
  /**
   * The parser's own memory of an unfinished head: which bytes (buffer, start, count) it has
   * already parsed, so that a head trickled in a byte at a time is parsed again per line, not per
   * read (a 16 KiB head sent a byte at a time would cost the re-parses ~0.7 s of CPU). Cleared whenever a parse returns anything but NEED_MORE. Callers
   * leave it alone; one that reuses a head object after abandoning an unfinished head (a pooled
   * connection object) calls resetHead() first. A head moved to another buffer or offset is
   * simply parsed again.
   */
  readonly pending?: PendingHead;
}

export interface PendingHead { buffer: Buffer | null; start: number; seen: number }

export interface RequestHead extends Fields {
  /** The method as sent (case-sensitive token). */
  method: string;
  /** The request-target exactly as sent. */
  target: string;
  /**
   * Path and query to route on and to send upstream: the target in origin-form, the path and
   * query of an absolute-form target ('/' when it has none), '*' for OPTIONS *.
   */
  path: string;
  /**
   * The authority to route on: an absolute-form target's (which overrides Host, RFC 9112
   * 3.2.2), else the one Host field's value; '' when there is none (HTTP/1.0 may omit Host).
   */
  host: string;
  /** The Upgrade field's value when Connection lists `upgrade`, else null. */
  upgrade: string | null;
  /** Expect: 100-continue was sent. */
  expectContinue: boolean;
  /**
   * The one TE field said `trailers` (gRPC needs it end to end: the engine re-adds `te: trailers`,
   * since TE itself is hop-by-hop). Set by parseRequestHead and newRequestHead.
   */
  teTrailers?: boolean;
}

export interface ResponseHead extends Fields {
  status: number;
  /** The reason phrase as sent (may be ''). */
  reason: string;
}

export function newRequestHead(limits: HeadLimits = DEFAULT_HEAD_LIMITS): RequestHead {
  return {
    fields: new Int32Array(limits.maxFields * 4), flags: new Uint8Array(limits.maxFields), count: 0, minor: 1,
    contentLength: -1, chunked: false, keepAlive: true, error: '', pending: { buffer: null, start: 0, seen: 0 },
    method: '', target: '', path: '', host: '', upgrade: null, expectContinue: false, teTrailers: false,
  };
}

export function newResponseHead(limits: HeadLimits = DEFAULT_HEAD_LIMITS): ResponseHead {
  return {
    fields: new Int32Array(limits.maxFields * 4), flags: new Uint8Array(limits.maxFields), count: 0, minor: 1,
    contentLength: -1, chunked: false, keepAlive: true, error: '', pending: { buffer: null, start: 0, seen: 0 }, status: 0, reason: '',
  };
}
