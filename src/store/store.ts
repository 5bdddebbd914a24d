import type { HealthRow, HealthVerdict } from '../model/health.js';
import type { NodeBeat, NodeRow } from '../model/node.js';
import type { Kind, ObjectKinds } from '../model/types.js';

export type { NodeBeat, NodeRow } from '../model/node.js';
export type { HealthRow, HealthVerdict } from '../model/health.js';

/**
 * One row of the change feed: what a committed write touched. `op` is 'put' for create
 * and update alike; readers re-read the object at `id` (or drop it on 'delete').
 */
export interface Change {
  revision: number;
  kind: Kind;
  id: string;
  op: 'put' | 'delete';
}

/** How long the store may take to answer (operator settings --store-timeout, --store-connect-timeout). */
export interface StoreTimeouts {
  /** One query, one lock wait, one whole transaction (SQLite: busy_timeout). */
  timeoutMs: number;
  /** Connecting to the server, or waiting for a free pooled connection (PostgreSQL only). */
  connectTimeoutMs: number;
}

export const DEFAULT_STORE_TIMEOUTS: StoreTimeouts = { timeoutMs: 5000, connectTimeoutMs: 3000 };

export interface ListQuery {
  /** Only objects this tenant owns (the kind descriptor's `owner`). */
  tenantId?: string;
  /** Only objects under this parent (the kind descriptor's `parent`: a route's upstream, say). */
  parentId?: string;
  limit?: number;
  offset?: number;
}

export interface ListResult<T> { items: T[]; total: number }

/** Reads and writes inside one transaction. Writes are seen by later reads in the same tx. */
export interface Tx {
  get<K extends Kind>(kind: K, id: string): Promise<ObjectKinds[K] | null>;
  list<K extends Kind>(kind: K, query?: ListQuery): Promise<ListResult<ObjectKinds[K]>>;
  /** Create or replace. Throws ModelError('duplicate') when a unique key is taken by another object. */
  put<K extends Kind>(kind: K, obj: ObjectKinds[K]): Promise<void>;
  /** Returns false when there was nothing to delete. */
  delete(kind: Kind, id: string): Promise<boolean>;
  /** Lookup by the kind's unique key (its descriptor's `unique.key`, model/kinds.ts). */
  findUnique<K extends Kind>(kind: K, key: string): Promise<ObjectKinds[K] | null>;
  /** Lookup by the kind's alias, the id another face shows (descriptor `alias`). */
  findAlias<K extends Kind>(kind: K, alias: string): Promise<ObjectKinds[K] | null>;
}

/** An object a read of the feed returns: its current document, or null once deleted. */
export interface FeedObject { kind: Kind; id: string; doc: unknown | null }

/** What changed after a revision, read as of one revision (Store.readSince). */
export interface FeedRead {
  /** The store's revision the read saw. */
  revision: number;
  /** Change rows at or below this are gone. */
  prunedThrough: number;
  /**
   * false: the feed no longer holds every row after the revision asked about (it was pruned
   * past it); `changes` and `objects` are then empty and the caller reloads in full.
   */
  complete: boolean;
  /** The rows after the revision asked about, oldest first. */
  changes: Change[];
  /** The changed objects of the kinds asked for, once each, as they are at `revision`. */
  objects: FeedObject[];
}

export type Subscriber = (revision: number, changes: Change[]) => void;

/**
 * The one store interface, implemented by SQLite (embedded default) and PostgreSQL.
 * Every `transact` that writes is one database transaction and bumps the global revision
 * by exactly one; a throwing callback rolls everything back. Transactions are serialised,
 * so concurrent read-modify-write cycles do not lose updates.
 *
 * Every call ends within the store's deadline (StoreTimeouts); one that cannot rejects with
 * StoreUnavailableError (errors.ts). A write that timed out changed nothing, unless its
 * COMMIT had already been sent: then it is unknown, as with any lost connection.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  revision(): Promise<number>;
  get<K extends Kind>(kind: K, id: string): Promise<ObjectKinds[K] | null>;
  list<K extends Kind>(kind: K, query?: ListQuery): Promise<ListResult<ObjectKinds[K]>>;
  findUnique<K extends Kind>(kind: K, key: string): Promise<ObjectKinds[K] | null>;
  /** Lookup by the kind's alias, the id another face shows (descriptor `alias`). */
  findAlias<K extends Kind>(kind: K, alias: string): Promise<ObjectKinds[K] | null>;
  /** Every object of every kind as of one revision: what the runtime builds a snapshot from. */
  loadAll(): Promise<{ revision: number; objects: { [K in Kind]: ObjectKinds[K][] } }>;
  transact<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Changes with revision > `revision`, oldest first. */
  changesSince(revision: number): Promise<Change[]>;
  /**
   * What changed after `revision`, in one read transaction: the current revision, the change
   * rows since, and the current documents of the changed objects of `docKinds` (other kinds
   * only move the revision). Incomplete when the feed was pruned past `revision`.
   */
  readSince(revision: number, docKinds: readonly Kind[]): Promise<FeedRead>;
  /**
   * Raises the feed's pruning floor to `through` (never lowers it, never past the current
   * revision) and deletes the change rows at or below it; returns the floor. Not a
   * revisioned write: no revision, no writers' lock.
   */
  prune(through: number): Promise<number>;
  /** Inserts or replaces the node's registry row, stamped with the store's time. */
  heartbeat(node: NodeBeat): Promise<void>;
  /** Every registry row, by name then id. */
  nodes(): Promise<NodeRow[]>;
  /** Drops a node's row and its health verdicts (a clean shutdown); false when there was no row. */
  forgetNode(id: string): Promise<boolean>;
  /**
   * Writes one node's health verdicts: upserts `put`, deletes the keys in `drop` (verdicts it no
   * longer holds), as one statement. Outside the revisioned feed like the registry: no revision,
   * no change row, never behind the writers' lock. `put` and `drop` must not share a key.
   */
  putHealth(nodeId: string, put: readonly HealthVerdict[], drop: readonly string[]): Promise<void>;
  /** Every node's health verdicts, or only those about `subject`; by node, then key. */
  healthRows(subject?: string): Promise<HealthRow[]>;
  /**
   * Called after commit, once per committed write, in revision order. Revisions whose change
   * rows were pruned before this process announced them are told once, as the latest of
   * them with no changes: the subscriber reads what changed by itself. Returns an
   * unsubscribe function.
   */
  subscribe(fn: Subscriber): () => void;
  close(): Promise<void>;
}
