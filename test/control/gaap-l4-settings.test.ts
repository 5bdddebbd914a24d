import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createListeners, createProxy, gaapSettings, getListener, getProxy, markApplied, modifyListener, modifyProxyConfiguration, type GaapSettings,
} from '../../src/control/gaap.js';
import { OPERATOR, tenantScope, type Scope } from '../../src/control/scope.js';
import { createTenant } from '../../src/control/tenants.js';
import { ModelError } from '../../src/model/errors.js';
import { listenerIdleSeconds, proxyByteRate, proxyConnectionCap, type Proxy } from '../../src/model/gaap.js';
import type { Store } from '../../src/store/store.js';
import { BOTH_STORES } from '../helpers/pg.js';
import { refusedUnchanged } from '../helpers/store-asserts.js';

// The operator's L4 settings (budget overrides on a proxy, options on a listener): the one
// model rule, operator scope only, kept across a tenant's writes, copied by a clone.

const model = (code: string, field?: string, extra: (e: ModelError) => boolean = () => true) => (err: unknown) =>
  err instanceof ModelError && err.code === code && (field === undefined || err.field === field) && extra(err);

for (const [name, open] of BOTH_STORES) {
  describe(`gaap operator L4 settings: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let skip = false;
    let alice: Scope;
    let aliceId: string;
    const s: GaapSettings = gaapSettings({ defaultRegion: 'home', defaultPool: ['127.0.4.0/28'] });
    const L = { name: 'l', scheduler: 'rr' as const, originType: 'ip' as const };

    async function running(extra: Partial<Parameters<typeof createProxy>[3]> = {}): Promise<Proxy> {
      const p = await createProxy(store, OPERATOR, s, { tenantId: aliceId, name: 'p', accessRegion: 'home', originRegion: 'home', bandwidth: 10, concurrent: 2, ...extra });
      assert.equal(await markApplied(store, OPERATOR, p.id, p.status), 'RUNNING');
      return getProxy(store, OPERATOR, p.id);
    }
    const refused = (write: () => Promise<unknown>, check: (e: unknown) => boolean) => refusedUnchanged(store, write, check);

    before(async () => {
      const st = await open();
      if (!st) { skip = true; return; }
      ({ store, cleanup } = st);
      aliceId = (await createTenant(store, OPERATOR, `alice-l4-${name}`)).id;
      alice = tenantScope(aliceId);
    });
    after(async () => { if (!skip) await cleanup(); });

    test('budget overrides: ranges, ADJUSTING like a resize, null resets to the size, a tenant resize keeps them', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const p = await running();
      assert.deepEqual([p.connectionCap, p.byteRate, proxyConnectionCap(p), proxyByteRate(p)], [undefined, undefined, 20_000, 1_250_000], 'absent: the size\'s own');

      await refused(() => modifyProxyConfiguration(store, OPERATOR, s, p.id, { connectionCap: 1.5 }), model('invalid_type', 'connectionCap'));
      await refused(() => modifyProxyConfiguration(store, OPERATOR, s, p.id, { connectionCap: -1 }), model('out_of_range', 'connectionCap', (e) => e.details.limit === 0));
      await refused(() => modifyProxyConfiguration(store, OPERATOR, s, p.id, { connectionCap: 10_000_001 }), model('out_of_range', 'connectionCap', (e) => e.details.limit === 10_000_000));
      await refused(() => modifyProxyConfiguration(store, OPERATOR, s, p.id, { byteRate: 999 }), model('out_of_range', 'byteRate', (e) => e.details.limit === 1_000));
      await refused(() => modifyProxyConfiguration(store, OPERATOR, s, p.id, { byteRate: 125_000_000_001 }), model('out_of_range', 'byteRate', (e) => e.details.limit === 125_000_000_000));
      await refused(() => modifyProxyConfiguration(store, OPERATOR, s, p.id, { byteRate: '5000' as never }), model('invalid_type', 'byteRate'));
      await refused(() => modifyProxyConfiguration(store, OPERATOR, s, p.id, {}), model('missing', 'bandwidth', (e) => e.message.includes('connectionCap')));

      const set = await modifyProxyConfiguration(store, OPERATOR, s, p.id, { connectionCap: 3, byteRate: 1_000 });
      assert.deepEqual([set.status, set.connectionCap, set.byteRate, set.bandwidth, set.configChangedAt], ['ADJUSTING', 3, 1_000, 10, null], 'an operator retune is not a tenant resize (ModifyConfigTime untouched)');
      await refused(() => modifyProxyConfiguration(store, OPERATOR, s, p.id, { connectionCap: 4 }), model('conflict', 'proxyId', (e) => e.details.state === 'busy'));
      assert.equal(await markApplied(store, OPERATOR, p.id, 'ADJUSTING'), 'RUNNING');
      assert.equal((await modifyProxyConfiguration(store, OPERATOR, s, p.id, { connectionCap: 0 })).connectionCap, 0, '0 refuses every new connection, on purpose');
      await markApplied(store, OPERATOR, p.id, 'ADJUSTING');

      // The tenant's own resize: the overrides stay, and the tenant cannot write them.
      const resized = await modifyProxyConfiguration(store, alice, s, p.id, { bandwidth: 20 });
      assert.deepEqual([resized.bandwidth, resized.connectionCap, resized.byteRate, proxyByteRate(resized)], [20, 0, 1_000, 1_000]);
      assert.ok(resized.configChangedAt !== null);
      await markApplied(store, OPERATOR, p.id, 'ADJUSTING');
      await refused(() => modifyProxyConfiguration(store, alice, s, p.id, { byteRate: 2_000 }), model('unsupported', 'byteRate'));
      await refused(() => modifyProxyConfiguration(store, alice, s, p.id, { bandwidth: 50, connectionCap: null }), model('unsupported', 'connectionCap'));
      await refused(() => modifyProxyConfiguration(store, alice, s, p.id, {}), model('missing', 'bandwidth', (e) => !e.message.includes('connectionCap')));

      const reset = await modifyProxyConfiguration(store, OPERATOR, s, p.id, { byteRate: null });
      assert.deepEqual([reset.connectionCap, 'byteRate' in reset, proxyByteRate(reset)], [0, false, 20 * 125_000], 'null: back to what the size sells');
      await markApplied(store, OPERATOR, p.id, 'ADJUSTING');
      const stored = await getProxy(store, alice, p.id);
      assert.deepEqual([stored.connectionCap, stored.byteRate], [0, undefined], 'what the store gives back');
    });

    test('budget overrides at creation: operator only, validated; a clone copies its source\'s unless given', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const base = { name: 'p', accessRegion: 'home', originRegion: 'home', bandwidth: 10, concurrent: 2 };
      await refused(() => createProxy(store, alice, s, { ...base, connectionCap: 5 }), model('unsupported', 'connectionCap'));
      await refused(() => createProxy(store, OPERATOR, s, { ...base, tenantId: aliceId, byteRate: 10 }), model('out_of_range', 'byteRate'));
      const src = await running({ connectionCap: 7, byteRate: 50_000 });
      const [l] = await createListeners(store, OPERATOR, s, { proxyId: src.id }, 'tcp', [7000], { ...L, clientIp: 'proxy_protocol', proxyProtocolVersion: 2, idleTimeout: 30, sessionPersist: 60 });

      // The tenant clones through its own face: budget and listener options come along.
      const clone = await createProxy(store, alice, s, { ...base, clonedFrom: src.id });
      assert.deepEqual([clone.status, clone.connectionCap, clone.byteRate], ['CLONING', 7, 50_000]);
      await markApplied(store, OPERATOR, clone.id, 'CLONING');
      const copied = (await store.list('streamListener', { parentId: clone.id })).items;
      assert.equal(copied.length, 1);
      assert.notEqual(copied[0]!.id, l!.id);
      assert.deepEqual([copied[0]!.proxyProtocolVersion, copied[0]!.idleTimeout, copied[0]!.sessionPersist], [2, 30, 60]);

      const own = await createProxy(store, OPERATOR, s, { ...base, tenantId: aliceId, clonedFrom: src.id, connectionCap: null, byteRate: 9_000 });
      assert.deepEqual([own.connectionCap, own.byteRate], [undefined, 9_000], 'the operator may give the clone its own');
    });

    test('listener options: the model rule on create and modify, proxyProtocolVersion modifiable, null resets', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const p = await running();
      const h = { proxyId: p.id };
      const pp = { ...L, clientIp: 'proxy_protocol' as const };
      await refused(() => createListeners(store, OPERATOR, s, h, 'tcp', [81], { ...pp, proxyProtocolVersion: 3 as never }), model('not_in_options', 'proxyProtocolVersion'));
      await refused(() => createListeners(store, OPERATOR, s, h, 'tcp', [81], { ...L, clientIp: 'toa', proxyProtocolVersion: 2 }), model('conflict', 'proxyProtocolVersion'));
      await refused(() => createListeners(store, OPERATOR, s, h, 'tcp', [81], { ...L, proxyProtocolVersion: 1 }), model('conflict', 'proxyProtocolVersion'));
      await refused(() => createListeners(store, OPERATOR, s, h, 'udp', [81], { ...L, proxyProtocolVersion: 2 }), model('conflict', 'proxyProtocolVersion'));
      await refused(() => createListeners(store, OPERATOR, s, h, 'tcp', [81], { ...L, idleTimeout: 0 }), model('out_of_range', 'idleTimeout'));
      await refused(() => createListeners(store, OPERATOR, s, h, 'udp', [81], { ...L, idleTimeout: 86_401 }), model('out_of_range', 'idleTimeout'));
      await refused(() => createListeners(store, OPERATOR, s, h, 'tcp', [81], { ...L, idleTimeout: 2.5 }), model('invalid_type', 'idleTimeout'));
      await refused(() => createListeners(store, OPERATOR, s, h, 'tcp', [81], { ...L, sessionPersist: 3_601 }), model('out_of_range', 'sessionPersist'));
      await refused(() => createListeners(store, OPERATOR, s, h, 'tcp', [81], { ...L, sessionPersist: -1 }), model('out_of_range', 'sessionPersist'));
      for (const field of ['proxyProtocolVersion', 'idleTimeout', 'sessionPersist'] as const) {
        await refused(() => createListeners(store, alice, s, h, 'tcp', [81], { ...pp, [field]: 1 }), model('unsupported', field));
      }

      const [tcp] = await createListeners(store, OPERATOR, s, h, 'tcp', [81], { ...pp, proxyProtocolVersion: 2, idleTimeout: 86_400, sessionPersist: 3_600 });
      assert.deepEqual([tcp!.proxyProtocolVersion, tcp!.idleTimeout, tcp!.sessionPersist], [2, 86_400, 3_600]);
      const [udp] = await createListeners(store, OPERATOR, s, h, 'udp', [81], { ...L, idleTimeout: 1 });
      assert.deepEqual([udp!.proxyProtocolVersion, listenerIdleSeconds(udp!), udp!.sessionPersist], [undefined, 1, 0]);
      const [plain] = await createListeners(store, OPERATOR, s, h, 'tcp', [82], L);
      assert.deepEqual(['proxyProtocolVersion' in plain!, 'idleTimeout' in plain!, listenerIdleSeconds(plain!)], [false, false, 900], 'absent: the defaults');

      const v1 = await modifyListener(store, OPERATOR, tcp!.id, { proxyProtocolVersion: 1, idleTimeout: 60 });
      assert.deepEqual([v1.proxyProtocolVersion, v1.idleTimeout], [1, 60]);
      await refused(() => modifyListener(store, OPERATOR, plain!.id, { proxyProtocolVersion: 2 }), model('conflict', 'proxyProtocolVersion'));
      await refused(() => modifyListener(store, OPERATOR, udp!.id, { idleTimeout: 0 }), model('out_of_range', 'idleTimeout'));
      await refused(() => modifyListener(store, OPERATOR, udp!.id, { sessionPersist: 4_000 }), model('out_of_range', 'sessionPersist'));
      const reset = await modifyListener(store, OPERATOR, tcp!.id, { proxyProtocolVersion: null, idleTimeout: null, sessionPersist: 0 });
      assert.deepEqual(['proxyProtocolVersion' in reset, 'idleTimeout' in reset, reset.sessionPersist, listenerIdleSeconds(reset)], [false, false, 0, 900]);

      // A tenant's modify changes what it names and keeps the operator's options.
      await modifyListener(store, OPERATOR, udp!.id, { idleTimeout: 300, sessionPersist: 30 });
      await refused(() => modifyListener(store, alice, udp!.id, { idleTimeout: 5 }), model('unsupported', 'idleTimeout'));
      await refused(() => modifyListener(store, alice, tcp!.id, { proxyProtocolVersion: null }), model('unsupported', 'proxyProtocolVersion'));
      const renamed = await modifyListener(store, alice, udp!.id, { name: 'renamed', delayLoop: 10 });
      assert.deepEqual([renamed.name, renamed.idleTimeout, renamed.sessionPersist], ['renamed', 300, 30]);
      const back = await getListener(store, alice, udp!.id);
      assert.deepEqual([back.idleTimeout, back.sessionPersist], [300, 30]);
    });
  });
}
