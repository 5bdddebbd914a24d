import type { Logger } from 'pino';
import { ModelError } from '../model/errors.js';
import type { Store } from '../store/store.js';
import { OPERATOR } from './scope.js';
import { createToken, hashToken } from './tenants.js';

/**
 * Makes sure an operator can get in: the token from SLUICE_ADMIN_TOKEN is registered (hashed)
 * when given; otherwise, on a store with no operator token at all, one is generated and
 * returned so the caller can print it once.
 */
export async function bootstrapOperatorToken(store: Store, fromEnv: string | undefined, log: Logger): Promise<string | null> {
  if (fromEnv) {
    if (fromEnv.length < 16) throw new Error('SLUICE_ADMIN_TOKEN must be at least 16 characters');
    if (!(await store.findUnique('token', hashToken(fromEnv)))) {
      try {
        await createToken(store, OPERATOR, null, 'from SLUICE_ADMIN_TOKEN', null, fromEnv);
        log.info('operator token from SLUICE_ADMIN_TOKEN registered');
      } catch (err) {
        // Nodes of a cluster starting together with the same token: one of them registered it.
        if (!(err instanceof ModelError && err.code === 'duplicate')) throw err;
      }
    }
    return null;
  }
  const existing = (await store.list('token')).items.some((t) => t.tenantId === null);
  if (existing) return null;
  const { clear } = await createToken(store, OPERATOR, null, 'generated at first start', null);
  return clear;
}
