import assert from 'node:assert/strict';
import type { Store } from '../../src/store/store.js';

/** The write is refused as `check` says, and the store revision did not move (no partial write). */
export async function refusedUnchanged(store: Store, write: () => Promise<unknown>, check: (e: unknown) => boolean): Promise<void> {
  const r0 = await store.revision();
  await assert.rejects(write(), check);
  assert.equal(await store.revision(), r0, 'no partial write');
}
