import { ModelError } from '../model/errors.js';
import { KIND_DESCRIPTORS, type KindDescriptor, type KindRegistry } from '../model/kinds.js';
import type { Kind, ObjectKinds } from '../model/types.js';
import type { Change, FeedObject, FeedRead, ListQuery, ListResult, Tx } from './store.js';

// The store's logic, written once: how an object becomes a row (kind descriptors), what a
// put checks, how a transaction's writes become one revision and its change-feed rows, and
// the readers. SQLite and PostgreSQL each supply only an adapter (SqlReader / SqlWriter) with
// their SQL; SQLite's synchronous calls are simply wrapped in promises.

/** The columns every object is stored with, beside its JSON document. */
export interface Row {
  kind: string;
  id: string;
  /** The owning tenant (descriptor `owner`). */
  tenantId: string | null;
  /** The id of the object this one hangs under (descriptor `parent`); the parent's kind is the descriptor's. */
  parentId: string | null;
  uniqueKey: string | null;
  /** The descriptor's alias: another face's id for the object. */
  alias: string | null;
  createdAt: string;
  doc: string;
}

export interface RowFilter { kind: string; tenantId?: string; parentId?: string }

/** The SQL one store runs to read: on its pool / database, or on the connection of a transaction. */
export interface SqlReader {
  /** Documents matching `f`, ordered by created_at then id; `total` counts all matches, ignoring the page. */
  select(f: RowFilter, page: { limit: number | null; offset: number }): Promise<{ docs: unknown[]; total: number }>;
  byId(kind: string, id: string): Promise<unknown | null>;
  byUnique(kind: string, key: string): Promise<{ id: string; doc: unknown } | null>;
  byAlias(kind: string, alias: string): Promise<{ id: string; doc: unknown } | null>;
  /** The documents of those of `ids` that exist (any order). */
  byIds(kind: string, ids: readonly string[]): Promise<{ id: string; doc: unknown }[]>;
}

/** The change feed's SQL, inside the read transaction the caller opened. */
export interface FeedReader {
  revision(): Promise<number>;
  prunedThrough(): Promise<number>;
  /** Rows with revision > `revision`, oldest first. */
  changesAfter(revision: number): Promise<Change[]>;
}

/** The SQL of the write steps, on the connection of an open transaction. */
export interface SqlWriter extends SqlReader {
  /** Insert or replace by (kind, id); 'duplicate' when a unique index refused it, the transaction still usable. */
  upsert(row: Row): Promise<'ok' | 'duplicate'>;
  /** Returns whether a row was there. */
  remove(kind: string, id: string): Promise<boolean>;
  /** Adds one to the global revision and returns the new value. */
  bumpRevision(): Promise<number>;
  appendChanges(changes: Change[]): Promise<void>;
}

export const DEFAULT_KINDS: KindRegistry = KIND_DESCRIPTORS;

function descriptor(kinds: KindRegistry, kind: string): KindDescriptor {
  const d = Object.hasOwn(kinds, kind) ? kinds[kind] : undefined;
  if (!d) throw new Error(`store: unknown kind "${kind}"`);
  return d;
}

/** Refuses a registry whose parents name kinds it does not hold: found when the store opens, not on a write. */
export function checkKinds(kinds: KindRegistry): KindRegistry {
  for (const [kind, d] of Object.entries(kinds)) {
    if (d.parent && !Object.hasOwn(kinds, d.parent.kind)) throw new Error(`store: kind "${kind}" hangs under "${d.parent.kind}", which is not a kind`);
  }
  return kinds;
}

export function toRow(kinds: KindRegistry, kind: string, obj: unknown): Row {
  const d = descriptor(kinds, kind);
  const o = obj as { id: string; createdAt: string } & Record<string, unknown>;
  const parent = d.parent ? o[d.parent.field] : null;
  return {
    kind, id: o.id, createdAt: o.createdAt,
    tenantId: d.owner?.(obj) ?? null,
    parentId: typeof parent === 'string' ? parent : null,
    uniqueKey: d.unique?.key(obj) ?? null,
    alias: d.alias?.key(obj) ?? null,
    doc: JSON.stringify(obj),
  };
}

export function duplicateError(kinds: KindRegistry, kind: string, on: 'unique' | 'alias' = 'unique'): ModelError {
  const d = descriptor(kinds, kind);
  const field = (on === 'alias' ? d.alias?.field : d.unique?.field) ?? 'id';
  return new ModelError('duplicate', field, `${field}: another ${kind} already uses this ${field}`, { entity: kind });
}

/** Collapses a transaction's writes to one change per object, the last op winning. */
export function collapse(revision: number, writes: Map<string, { kind: Kind; id: string; op: 'put' | 'delete' }>): Change[] {
  return [...writes.values()].map((w) => ({ revision, kind: w.kind, id: w.id, op: w.op }));
}

export async function get<K extends Kind>(sql: SqlReader, kinds: KindRegistry, kind: K, id: string): Promise<ObjectKinds[K] | null> {
  descriptor(kinds, kind);
  return (await sql.byId(kind, id)) as ObjectKinds[K] | null;
}

export async function list<K extends Kind>(sql: SqlReader, kinds: KindRegistry, kind: K, q: ListQuery = {}): Promise<ListResult<ObjectKinds[K]>> {
  descriptor(kinds, kind);
  const f: RowFilter = { kind };
  if (q.tenantId !== undefined) f.tenantId = q.tenantId;
  if (q.parentId !== undefined) f.parentId = q.parentId;
  const { docs, total } = await sql.select(f, { limit: q.limit ?? null, offset: q.offset ?? 0 });
  return { items: docs as ObjectKinds[K][], total };
}

export async function findUnique<K extends Kind>(sql: SqlReader, kinds: KindRegistry, kind: K, key: string): Promise<ObjectKinds[K] | null> {
  descriptor(kinds, kind);
  return ((await sql.byUnique(kind, key))?.doc ?? null) as ObjectKinds[K] | null;
}

export async function findAlias<K extends Kind>(sql: SqlReader, kinds: KindRegistry, kind: K, alias: string): Promise<ObjectKinds[K] | null> {
  descriptor(kinds, kind);
  return ((await sql.byAlias(kind, alias))?.doc ?? null) as ObjectKinds[K] | null;
}

/** Every object of every kind the registry names; the caller makes it one consistent read. */
export async function loadAll(sql: SqlReader, kinds: KindRegistry): Promise<{ [K in Kind]: ObjectKinds[K][] }> {
  const objects: Record<string, unknown[]> = {};
  for (const k of Object.keys(kinds)) objects[k] = (await sql.select({ kind: k }, { limit: null, offset: 0 })).docs;
  return objects as { [K in Kind]: ObjectKinds[K][] };
}

/**
 * What changed after `since`, as of one revision; the caller makes it one consistent read.
 * Past the pruning floor the rows are gone, and the caller is told to reload in full.
 */
export async function readSince(sql: SqlReader & FeedReader, kinds: KindRegistry, since: number, docKinds: readonly Kind[]): Promise<FeedRead> {
  const revision = await sql.revision();
  const prunedThrough = await sql.prunedThrough();
  if (prunedThrough > since) return { revision, prunedThrough, complete: false, changes: [], objects: [] };
  const changes = revision > since ? await sql.changesAfter(since) : [];
  const wanted = new Set<string>(docKinds);
  const ids = new Map<string, Set<string>>();
  for (const c of changes) {
    if (!wanted.has(c.kind)) continue;
    descriptor(kinds, c.kind);
    let set = ids.get(c.kind);
    if (!set) { set = new Set(); ids.set(c.kind, set); }
    set.add(c.id);
  }
  const objects: FeedObject[] = [];
  for (const [kind, set] of ids) {
    const found = new Map((await sql.byIds(kind, [...set])).map((r) => [r.id, r.doc]));
    for (const id of set) objects.push({ kind: kind as Kind, id, doc: found.get(id) ?? null });
  }
  return { revision, prunedThrough, complete: true, changes, objects };
}

/**
 * Runs `fn` inside a transaction the caller has begun on `sql`, then records its writes as
 * one revision (bump + change-feed rows). Returns the changes for the caller to commit and
 * announce; on a throw the caller rolls back. Duplicate unique keys are refused here, before
 * the database's unique index would be (that one still guards against a racing writer).
 */
export async function runTransaction<T>(sql: SqlWriter, kinds: KindRegistry, fn: (tx: Tx) => Promise<T>): Promise<{ result: T; revision: number; changes: Change[] }> {
  const writes = new Map<string, { kind: Kind; id: string; op: 'put' | 'delete' }>();
  const tx: Tx = {
    get: (kind, id) => get(sql, kinds, kind, id),
    list: (kind, q) => list(sql, kinds, kind, q),
    findUnique: (kind, key) => findUnique(sql, kinds, kind, key),
    findAlias: (kind, alias) => findAlias(sql, kinds, kind, alias),
    put: async (kind, obj) => {
      const row = toRow(kinds, kind, obj);
      if (row.uniqueKey !== null) {
        const other = await sql.byUnique(kind, row.uniqueKey);
        if (other && other.id !== row.id) throw duplicateError(kinds, kind);
      }
      if (row.alias !== null) {
        const other = await sql.byAlias(kind, row.alias);
        if (other && other.id !== row.id) throw duplicateError(kinds, kind, 'alias');
      }
      if ((await sql.upsert(row)) === 'duplicate') throw duplicateError(kinds, kind);
      writes.set(`${kind}/${row.id}`, { kind, id: row.id, op: 'put' });
    },
    delete: async (kind, id) => {
      descriptor(kinds, kind);
      const gone = await sql.remove(kind, id);
      if (gone) writes.set(`${kind}/${id}`, { kind, id, op: 'delete' });
      return gone;
    },
  };
  const result = await fn(tx);
  if (writes.size === 0) return { result, revision: 0, changes: [] };
  const revision = await sql.bumpRevision();
  const changes = collapse(revision, writes);
  await sql.appendChanges(changes);
  return { result, revision, changes };
}
