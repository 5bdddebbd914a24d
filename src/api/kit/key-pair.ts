import type { KeyPair } from '../../model/types.js';
import type { Store } from '../../store/store.js';

/**
 * The key pair a signed request names (Tencent SecretId, Huawei AK), or null. Both faces
 * sign with the same tenant key pairs (`POST /v1/tenants/{id}/keys`).
 */
export async function resolveKeyPair(store: Store, secretId: string): Promise<KeyPair | null> {
  if (secretId === '') return null;
  return store.findUnique('keypair', secretId);
}
