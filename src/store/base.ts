import { ModelError } from '../model/errors.js';
import type { Kind, ObjectKinds } from '../model/types.js';
import type { Change, Subscriber } from './store.js';

/** The columns every object is stored with, beside its JSON document. */
export interface Row {
  kind: Kind;
  id: string;
  tenantId: string | null;
  upstreamId: string | null;
  uniqueKey: string | null;
  /** A second unique lookup per kind: the id another face knows the object by (aliasOf()). */
  alias: string | null;
  createdAt: string;
  doc: string;
}

export function toRow<K extends Kind>(kind: K, obj: ObjectKinds[K], uniqueKey: string | null, tenantId: string | null, alias: string | null): Row {
  const o = obj as { id: string; createdAt: string; upstreamId?: string };
  return {
    kind, id: o.id, tenantId, uniqueKey, alias, createdAt: o.createdAt,
    upstreamId: kind === 'route' ? (o.upstreamId ?? null) : null,
    doc: JSON.stringify(obj),
  };
}

const UNIQUE_FIELD: Record<Kind, string> = {
  tenant: 'name', project: 'region', instance: 'id', keypair: 'secretId', token: 'hash', upstream: 'name', route: 'id',
};

/** Which unique lookup an alias is: the model field it is read from. */
export const ALIAS_FIELD = 'tencentId';

export function duplicateError(kind: Kind, field = UNIQUE_FIELD[kind]): ModelError {
  return new ModelError('duplicate', field, `${field}: another ${kind} already uses this ${field}`);
}

/** Collapses a transaction's writes to one change per object, the last op winning. */
export function collapse(revision: number, writes: Map<string, { kind: Kind; id: string; op: 'put' | 'delete' }>): Change[] {
  return [...writes.values()].map((w) => ({ revision, kind: w.kind, id: w.id, op: w.op }));
}

/** Subscribers run after commit; one that throws must not break the writer or the others. */
export class Subscribers {
  private readonly fns = new Set<Subscriber>();
  add(fn: Subscriber): () => void {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }
  notify(revision: number, changes: Change[]): void {
    for (const fn of this.fns) {
      try { fn(revision, changes); } catch { /* a subscriber's failure is its own */ }
    }
  }
}

/** Serialises async critical sections in one process. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(() => undefined, () => undefined);
    return result;
  }
}
