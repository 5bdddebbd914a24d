/**
 * Field names the lean engine treats itself, matched on the raw bytes of a parsed head (no
 * string per field): a table by name length, so that most names are passed over after one
 * lookup. Names are compared lower-cased (`| 0x20` is exact on token bytes for letters, and
 * the tables hold only letters and '-', whose 0x20 bit is already set).
 */

export const KEEP = 0;
export const XFF = 2;
export const USER_AGENT = 4;
export const REFERER = 5;
export const SEC_WS_KEY = 6;
export const SEC_WS_VERSION = 7;

type Table = (readonly [Buffer, number])[][];

function table(entries: readonly (readonly [string, number])[]): Table {
  const t: Table = [];
  for (let i = 0; i < 32; i++) t.push([]);
  for (const [name, kind] of entries) t[name.length]!.push([Buffer.from(name, 'latin1'), kind]);
  return t;
}

/**
 * Request fields the engine reads the value of (the parser's flags say which are forwarded:
 * hop-by-hop ones and those the gateway sets itself are flagged FIELD_HOP there).
 */
const REQUEST = table([
  ['user-agent', USER_AGENT], ['referer', REFERER], ['sec-websocket-key', SEC_WS_KEY], ['sec-websocket-version', SEC_WS_VERSION],
]);

function kindIn(t: Table, b: Buffer, s: number, e: number): number {
  const n = e - s;
  if (n >= 32) return KEEP;
  const row = t[n]!;
  for (let r = 0; r < row.length; r++) {
    const [name, kind] = row[r]!;
    let i = 0;
    while (i < n && (b[s + i]! | 0x20) === name[i]) i++;
    if (i === n) return kind;
  }
  return KEEP;
}

export function requestFieldKind(b: Buffer, s: number, e: number): number { return kindIn(REQUEST, b, s, e); }

/** b[s..e) equals `lower` (a lower-case ASCII constant), ignoring case. */
export function equalsLower(b: Buffer, s: number, e: number, lower: string): boolean {
  if (e - s !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((b[s + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}
