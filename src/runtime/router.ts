import type { Route } from '../model/types.js';

export interface RouteMatch<R> { readonly value: R; readonly prefix: string }

/** Routes sharing one path prefix within a host table, by method. */
interface PrefixEntry<R> {
  byMethod: Map<string, RouteMatch<R>>;
  anyMethod: RouteMatch<R> | null;
}

/** The routes of one host (or of one wildcard, or of any host), by path prefix. */
class PathTable<R> {
  private readonly prefixes = new Map<string, PrefixEntry<R>>();
  /** Distinct prefix lengths, longest first: a lookup tries each once. */
  private lengths: number[] = [];

  add(prefix: string, methods: readonly string[], value: R): void {
    let entry = this.prefixes.get(prefix);
    if (!entry) {
      entry = { byMethod: new Map(), anyMethod: null };
      this.prefixes.set(prefix, entry);
      if (!this.lengths.includes(prefix.length)) this.lengths = [...this.lengths, prefix.length].sort((a, b) => b - a);
    }
    // First route wins on an exact tie; routes are added in creation order.
    // Built once here, so that a lookup allocates nothing.
    const match: RouteMatch<R> = { value, prefix };
    if (methods.length === 0) entry.anyMethod ??= match;
    for (const m of methods) if (!entry.byMethod.has(m)) entry.byMethod.set(m, match);
  }

  match(path: string, method: string): RouteMatch<R> | null {
    for (const len of this.lengths) {
      if (len > path.length) continue;
      const prefix = len === path.length ? path : path.slice(0, len);
      const entry = this.prefixes.get(prefix);
      if (!entry) continue;
      const hit = entry.byMethod.get(method) ?? entry.anyMethod;
      if (hit) return hit;
    }
    return null;
  }
}

/**
 * Compiled route table: host (exact, then the longest matching `*.suffix`, then routes
 * with no host), then the longest path prefix, then the method. Prefixes are plain string
 * prefixes, as in nginx's `location /api`. Built once per snapshot; a lookup costs a few
 * map probes, never a scan of all routes.
 */
export class Router<R> {
  private readonly exact = new Map<string, PathTable<R>>();
  /** Keyed by the suffix with its leading dot: `*.example.com` -> `.example.com`. */
  private readonly wildcard = new Map<string, PathTable<R>>();
  private readonly anyHost = new PathTable<R>();
  /** The value of every route compiled in, in table order (metrics build their series from it). */
  readonly values: R[] = [];

  /** `onError`: a route that cannot be compiled is left out whole, and told here. */
  constructor(routes: readonly Route[], valueOf: (r: Route) => R | null, onError?: (r: Route, err: unknown) => void) {
    // String(): a malformed stored route must not break the sort for every other route.
    const sorted = [...routes].sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)) || String(a.id).localeCompare(String(b.id)));
    for (const route of sorted) {
      let compiled: { tables: PathTable<R>[]; paths: string[]; methods: string[]; value: R } | null;
      try {
        compiled = this.compile(route, valueOf);
      } catch (err) {
        onError?.(route, err);
        continue;
      }
      if (!compiled) continue;
      const { tables, paths, methods, value } = compiled;
      for (const table of tables) for (const p of paths) table.add(p, methods, value);
      this.values.push(value);
    }
  }

  /** Everything that can throw on a malformed route, worked out before any table changes. */
  private compile(route: Route, valueOf: (r: Route) => R | null) {
    const value = valueOf(route);
    if (value === null) return null;
    const strings = (field: string, v: unknown): string[] => {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`route ${field} is not a list of strings`);
      return v as string[];
    };
    const paths = strings('paths', route.paths);
    const hosts = strings('hosts', route.hosts);
    const methods = strings('methods', route.methods);
    const tables = hosts.length ? hosts.map((h) => this.tableFor(h.toLowerCase())) : [this.anyHost];
    return { tables, paths: paths.length ? paths : ['/'], methods, value };
  }

  private tableFor(host: string): PathTable<R> {
    const [map, key] = host.startsWith('*.') ? [this.wildcard, host.slice(1)] : [this.exact, host];
    let t = map.get(key);
    if (!t) { t = new PathTable<R>(); map.set(key, t); }
    return t;
  }

  /** `host` without port, lower case; `path` without query. */
  match(host: string, path: string, method: string): RouteMatch<R> | null {
    const exact = this.exact.get(host)?.match(path, method);
    if (exact) return exact;
    if (this.wildcard.size > 0) {
      for (let dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
        const hit = this.wildcard.get(host.slice(dot))?.match(path, method);
        if (hit) return hit;
      }
    }
    return this.anyHost.match(path, method);
  }
}
