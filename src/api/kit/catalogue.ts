/**
 * A dialect's error catalogue: each entry is a code the cloud documents, the HTTP status it
 * is answered with, and a message template. Faces build every error from an entry, so the
 * codes and texts a client matches on live in one table per dialect.
 */
export interface CatalogueEntry<A> {
  code: string;
  status: number;
  message(args: A): string;
}

export type Catalogue<K extends string, A> = Record<K, CatalogueEntry<A>>;

/** `value` for a message: short, one line, never a whole body. */
export function shown(value: unknown): string {
  const s = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
