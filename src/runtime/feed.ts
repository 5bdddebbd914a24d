import { ConfigIndex } from './config-index.js';
import type { ConfigDelta, RuntimeConfig } from './config.js';
import type { Runtime } from './runtime.js';

/** Where the follower hands what it read: a full config, or the changes since the last one. */
export interface ConfigSink {
  full(config: RuntimeConfig): void;
  /** false: `d` does not follow the revision held; a full config is needed. */
  delta(d: ConfigDelta): boolean;
}

/** What the L7 side needs of the L4 plane (l4/plane.ts, l4/node.ts). */
export interface L4Sink {
  apply(c: Pick<RuntimeConfig, 'revision' | 'l4'>): void;
  /** A revision that changed no L4 object. */
  advance(revision: number): void;
}

/** A sink for a consumer of whole configs: each delta is patched into an index and handed over whole. */
export function wholeConfigs(apply: (c: RuntimeConfig) => void): ConfigSink {
  const index = new ConfigIndex();
  return {
    full(c) { index.reset(c); apply(c); },
    delta(d) {
      const p = index.patch(d);
      if (p === 'gap') return false;
      if (p !== 'stale') apply(index.config());
      return true;
    },
  };
}

/**
 * One process's data plane fed from the follower (the primary) or from the primary (a
 * worker): the config index, the L7 runtime, and the L4 plane when the process has one. A
 * delta re-plans what it changed; the L4 plane is re-planned only when an L4 object changed
 * (from the index's L4 objects, bounded by the GAAP quotas).
 */
export class DataPlaneFeed implements ConfigSink {
  readonly index = new ConfigIndex();

  constructor(private readonly runtime: Runtime<any>, private readonly l4: L4Sink | null) {}

  full(c: RuntimeConfig): void {
    this.index.reset(c);
    this.runtime.apply(c);
    this.l4?.apply(c);
  }

  delta(d: ConfigDelta): boolean {
    const p = this.index.patch(d);
    if (p === 'gap') return false;
    if (p === 'stale') return true;
    if (p.upstreams.length > 0 || p.routes.length > 0) this.runtime.applyDelta(p, this.index);
    else this.runtime.advance(p.revision);
    if (p.l4) this.l4?.apply({ revision: p.revision, l4: this.index.l4Objects() });
    else this.l4?.advance(p.revision);
    return true;
  }
}
