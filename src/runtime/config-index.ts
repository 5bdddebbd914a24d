import type { Instance, ObjectKinds, Route, Upstream } from '../model/types.js';
import { L4_KINDS, type ConfigDelta, type DataPlaneKind, type L4Objects, type RuntimeConfig } from './config.js';

/** One object a delta touched: as it was, and as it is (null: absent). */
export interface Patched<T> { id: string; before: T | null; after: T | null }

/** What patching the index with one delta changed, for the builders to follow. */
export interface IndexPatch {
  revision: number;
  upstreams: Patched<Upstream>[];
  routes: Patched<Route>[];
  /** Some L4 object changed: the L4 plane re-plans from the index's L4 objects. */
  l4: boolean;
}

type Maps = { [K in DataPlaneKind]: Map<string, ObjectKinds[K]> };

/**
 * The data-plane objects of one revision, by kind and id: built from a full load, patched from
 * each delta, so that a change costs what it touched. It yields the whole RuntimeConfig when
 * one is needed (a worker that starts late, a full rebuild).
 */
export class ConfigIndex {
  revision = -1;
  private readonly maps: Maps = {
    upstream: new Map(), route: new Map(), instance: new Map(),
    l4Region: new Map(), proxy: new Map(), streamListener: new Map(), origin: new Map(), originBinding: new Map(),
  };

  get upstreams(): ReadonlyMap<string, Upstream> { return this.maps.upstream; }
  get routes(): ReadonlyMap<string, Route> { return this.maps.route; }
  get instances(): ReadonlyMap<string, Instance> { return this.maps.instance; }

  reset(c: RuntimeConfig): void {
    const fill = <K extends DataPlaneKind>(kind: K, objects: readonly ObjectKinds[K][]): void => {
      const m = this.maps[kind] as Map<string, ObjectKinds[K]>;
      m.clear();
      for (const o of objects) m.set(o.id, o);
    };
    fill('upstream', c.upstreams);
    fill('route', c.routes);
    fill('instance', c.instances);
    fill('l4Region', c.l4.regions);
    fill('proxy', c.l4.proxies);
    fill('streamListener', c.l4.listeners);
    fill('origin', c.l4.origins);
    fill('originBinding', c.l4.bindings);
    this.revision = c.revision;
  }

  /**
   * Applies `d` on top of the revision held. 'stale': the index is already past it; 'gap': it
   * starts after another revision than the one held (the holder needs a full config).
   */
  patch(d: ConfigDelta): IndexPatch | 'stale' | 'gap' {
    if (d.revision <= this.revision) return 'stale';
    if (d.since !== this.revision) return 'gap';
    const out: IndexPatch = { revision: d.revision, upstreams: [], routes: [], l4: false };
    for (const c of d.changes) {
      const m = this.maps[c.kind] as Map<string, unknown>;
      const before = m.get(c.id) ?? null;
      if (c.doc === null) m.delete(c.id); else m.set(c.id, c.doc);
      if (c.kind === 'upstream') out.upstreams.push({ id: c.id, before: before as Upstream | null, after: c.doc });
      else if (c.kind === 'route') out.routes.push({ id: c.id, before: before as Route | null, after: c.doc });
      else if ((L4_KINDS as readonly string[]).includes(c.kind)) out.l4 = true;
    }
    this.revision = d.revision;
    return out;
  }

  l4Objects(): L4Objects {
    const m = this.maps;
    return {
      regions: [...m.l4Region.values()], proxies: [...m.proxy.values()], listeners: [...m.streamListener.values()],
      origins: [...m.origin.values()], bindings: [...m.originBinding.values()],
    };
  }

  config(): RuntimeConfig {
    const m = this.maps;
    return { revision: this.revision, upstreams: [...m.upstream.values()], routes: [...m.route.values()], instances: [...m.instance.values()], l4: this.l4Objects() };
  }
}
