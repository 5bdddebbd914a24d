import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PostgresStore, type StoreLog } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { Store, StoreTimeouts } from './store.js';

/** `postgres://` / `postgresql://` → PostgreSQL; nothing or `sqlite:` → SQLite in dataDir. */
export async function openStore(opts: { url?: string; dataDir: string; timeouts?: Partial<StoreTimeouts>; logger?: StoreLog }): Promise<Store> {
  const url = opts.url;
  if (url && /^postgres(ql)?:\/\//.test(url)) return PostgresStore.open(url, { ...opts.timeouts, logger: opts.logger });
  if (url && url !== 'sqlite:' && !url.startsWith('sqlite:')) throw new Error(`--store: unsupported store URL "${url}" (use postgres://... or leave it out for SQLite)`);
  mkdirSync(opts.dataDir, { recursive: true });
  return SqliteStore.open(join(opts.dataDir, 'sluice.db'), { timeoutMs: opts.timeouts?.timeoutMs });
}
