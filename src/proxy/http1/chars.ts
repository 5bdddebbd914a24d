/**
 * Byte classes of RFC 9110/9112 as 256-entry tables, so that the parsers test one byte with one
 * load instead of a chain of comparisons or a regular expression.
 */

export const HT = 9, LF = 10, CR = 13, SP = 32, DQUOTE = 34, COMMA = 44, SLASH = 47, COLON = 58, SEMI = 59,
  EQUALS = 61, BACKSLASH = 92;

function table(pred: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) if (pred(c)) t[c] = 1;
  return t;
}

const isAlnum = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** tchar (RFC 9110 5.6.2): field names, methods, list tokens, chunk extension names. */
export const TCHAR = table((c) => isAlnum(c) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)));

/** field-vchar / SP / HTAB (RFC 9110 5.5): VCHAR and obs-text; CTLs and DEL excluded. */
export const FVCHAR = table((c) => c === SP || c === HT || (c >= 0x21 && c <= 0x7e) || c >= 0x80);

/**
 * Request-target bytes: VCHAR only (no CTLs, SP, DEL or obs-text: llhttp refuses raw bytes
 * 0x80+ in a target too, so clients already percent-encode them). The finer URI grammar is not
 * checked in origin-form: the target is forwarded as received.
 */
export const TARGET = table((c) => c >= 0x21 && c <= 0x7e);

/** qdtext (RFC 9110 5.6.4) inside a quoted chunk extension value. */
export const QDTEXT = table((c) => c === HT || c === SP || c === 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80);

/** Hex digit values; 255 for anything else. */
export const HEX = new Uint8Array(256).fill(255);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) { HEX[0x41 + c] = 10 + c; HEX[0x61 + c] = 10 + c; }

/** Lower-case ASCII for two-sided case-insensitive compares. */
export const LOWER = new Uint8Array(256);
for (let c = 0; c < 256; c++) LOWER[c] = c >= 0x41 && c <= 0x5a ? c + 32 : c;
