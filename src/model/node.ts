/**
 * One gateway process as it last told the store (the node registry). Kept outside the
 * revisioned feed: a heartbeat bumps no revision and writes no change row.
 */
export interface NodeBeat {
  /** Fresh per process start. */
  id: string;
  name: string;
  /** region: the access region the node serves; more labels later. */
  labels: Record<string, string>;
  version: string;
  /** The revision its data plane runs. */
  appliedRevision: number;
  startedAt: string;
  /** How often it beats: it is down once silent for 3 of these. */
  heartbeatMs: number;
}

/** A registry row: the last beat, when the store received it, and how long ago by the store's clock. */
export interface NodeRow extends NodeBeat {
  lastSeenAt: string;
  /** Milliseconds since the last beat, measured by the store's clock (one clock for every node). */
  silentMs: number;
}

/**
 * A node name as `--node-name` takes it (the host name by default): what an operator reads in
 * `sluice nodes`, so printable and short; not unique (the id is).
 */
export const NODE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

export function isNodeName(name: string): boolean {
  return NODE_NAME_PATTERN.test(name);
}

/** Beats a node may miss before it is shown down: one lost beat or a slow store is no outage. */
export const MISSED_BEATS = 3;

export const DEFAULT_HEARTBEAT_MS = 5000;

export type NodeStatus = 'up' | 'down';

/** What the operator API shows of a node: its row and the status its silence means. */
export interface NodeView extends NodeRow { status: NodeStatus }

/** Decided when read, from the store's own measure of the silence, so no node's clock matters. */
export function nodeView(row: NodeRow): NodeView {
  return { ...row, status: row.silentMs > MISSED_BEATS * row.heartbeatMs ? 'down' : 'up' };
}

/**
 * The regions whose L7 routes a node serves (`--l7-regions`): null for every region, the
 * default, so that a plain cluster needs no labels. A route's region is its upstream's
 * instance's. GAAP proxies are scoped by `--region` instead: one access region per node.
 */
export type L7Scope = ReadonlySet<string> | null;

/** `all`, or region names separated by commas; throws with what is wrong. */
export function parseL7Scope(text: string, isRegion: (name: string) => boolean): L7Scope {
  if (text === 'all') return null;
  const names = text.split(',');
  const bad = names.find((n) => !isRegion(n));
  if (bad !== undefined) throw new Error(`"${bad}" is not a region name (lower-case letters, digits and hyphens, at most 64); give "all" or names separated by commas`);
  return new Set(names);
}

export function servesL7(scope: L7Scope, region: string): boolean {
  return scope === null || scope.has(region);
}

/** The registry labels of a node: `region` when it serves GAAP proxies, `l7Regions` when it does not serve every region's routes. */
export function nodeLabels(gaapRegion: string | null, l7: L7Scope): Record<string, string> {
  const labels: Record<string, string> = {};
  if (gaapRegion !== null) labels.region = gaapRegion;
  if (l7 !== null) labels.l7Regions = [...l7].sort().join(',');
  return labels;
}
