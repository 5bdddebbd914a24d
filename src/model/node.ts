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
