import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EVERYTHING, type Described } from '../../src/control/describes.js';
import { OPERATOR, tenantScope } from '../../src/control/scope.js';
import { createTenant, openProject } from '../../src/control/tenants.js';
import { createRoute, getRoute, listRoutes } from '../../src/control/routes.js';
import {
  createUpstream, deleteUpstream, getUpstream, listUpstreams, patchUpstream, replaceGroup, replaceUpstream,
  updateUpstream, upsertGroups, upsertMembers,
} from '../../src/control/upstreams.js';
import { ModelError } from '../../src/model/errors.js';
import { effectiveWeight } from '../../src/model/member.js';
import type { Store } from '../../src/store/store.js';
import { BOTH_STORES } from '../helpers/pg.js';

// Each control rule once, against a real store: SQLite always, PostgreSQL when it answers.

const notFound = (field: string) => (err: unknown) => err instanceof ModelError && err.code === 'not_found' && err.field === field;

for (const [name, open] of BOTH_STORES) {
  describe(`control rules: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let skip = false;
    let alice: string;
    let bob: string;
    let n = 0;
    const uname = () => `u${++n}`;

    before(async () => {
      const s = await open();
      if (!s) { skip = true; return; }
      ({ store, cleanup } = s);
      alice = (await createTenant(store, OPERATOR, `alice-${name}`)).id;
      bob = (await createTenant(store, OPERATOR, `bob-${name}`)).id;
    });
    after(async () => { if (!skip) await cleanup(); });

    test('scope isolation: another tenant, project or instance gets not_found, never the object', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const u = await createUpstream(store, tenantScope(alice, { region: 'r1' }), {}, { name: uname(), members: [{ host: '10.0.0.1', port: 80 }] });
      await createRoute(store, OPERATOR, { upstreamId: u.id, paths: ['/a'] });
      const route = (await listRoutes(store, OPERATOR, { upstreamId: u.id })).items[0]!;

      // The owner, in the right region, and the operator see it.
      assert.equal((await getUpstream(store, tenantScope(alice, { region: 'r1' }), u.id)).id, u.id);
      assert.equal((await getUpstream(store, OPERATOR, u.id)).id, u.id);
      assert.equal((await getUpstream(store, tenantScope(alice, { projectId: u.projectId, instanceId: u.instanceId }), u.id)).id, u.id);

      for (const scope of [
        tenantScope(bob),
        tenantScope(bob, { region: 'r1' }),
        tenantScope(alice, { region: 'r2' }),
        tenantScope(alice, { projectId: (await openProject(store, OPERATOR, alice, 'r3')).project.id }),
        tenantScope(alice, { instanceId: 'f'.repeat(32) }),
      ]) {
        await assert.rejects(getUpstream(store, scope, u.id), notFound('upstreamId'), JSON.stringify(scope));
        await assert.rejects(patchUpstream(store, scope, u.id, { description: 'stolen' }), notFound('upstreamId'));
        await assert.rejects(deleteUpstream(store, scope, u.id), notFound('upstreamId'));
        await assert.rejects(getRoute(store, scope, route.id), notFound('routeId'));
        assert.ok(!(await listUpstreams(store, scope)).items.some((x) => x.id === u.id));
        assert.ok(!(await listRoutes(store, scope)).items.some((x) => x.id === route.id));
      }
      // A tenant cannot place an upstream under another tenant, nor a route on another's upstream.
      await assert.rejects(createUpstream(store, tenantScope(bob, { region: 'r1' }), { tenantId: alice }, { name: uname() }), notFound('tenantId'));
      await assert.rejects(createRoute(store, tenantScope(bob), { upstreamId: u.id }), notFound('upstreamId'));
      assert.equal((await getUpstream(store, OPERATOR, u.id)).description, '', 'nothing was written');
    });

    test('carry-over: a replace describing some fields keeps every other field, the native one resets them', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const scope = tenantScope(alice, { region: 'r1' });
      const u = await createUpstream(store, scope, {}, {
        name: uname(), description: 'kept', retries: 1, tags: [{ key: 'k', value: 'v' }],
        healthCheck: { protocol: 'http', path: '/h', passive: true, tcpFailureThreshold: 4, unhealthyStatuses: '503', requestHeaders: { 'x-probe': 'yes' }, ext: { tencent: { a: 1 } } },
        members: [{ host: '10.0.0.1', port: 80, tags: ['blue'], ecsId: 'ins-1', ext: { tencent: { Source: 's' } } }],
        ext: { tencent: { algorithm: 'ROUND-ROBIN' } },
      });
      const face: Described = {
        upstream: ['name', 'port', 'members', 'healthCheck', 'ext'], healthCheck: ['protocol', 'path', 'interval', 'timeout'],
        member: ['host', 'port', 'weight'], group: [], ext: ['huawei'],
      };
      const next = await replaceUpstream(store, scope, u.id, {
        name: u.name, port: 8080, members: [{ host: '10.0.0.1', port: 80, weight: 5 }],
        healthCheck: { protocol: 'http', path: '/ready', interval: 10, timeout: 2 }, ext: { huawei: { dictCode: 'd' } },
      }, face);
      assert.equal(next.description, 'kept');
      assert.equal(next.retries, 1);
      assert.deepEqual(next.tags, [{ key: 'k', value: 'v' }]);
      assert.equal(next.port, 8080);
      assert.deepEqual(next.ext, { tencent: { algorithm: 'ROUND-ROBIN' }, huawei: { dictCode: 'd' } });
      const h = next.healthCheck!;
      assert.deepEqual([h.path, h.interval, h.timeout], ['/ready', 10, 2]);
      assert.deepEqual([h.passive, h.tcpFailureThreshold, h.unhealthyStatuses, h.requestHeaders], [true, 4, '503', { 'x-probe': 'yes' }]);
      assert.deepEqual(h.ext, { tencent: { a: 1 } });
      const m = next.members[0]!;
      assert.equal(m.id, u.members[0]!.id, 'the same member keeps its id');
      assert.deepEqual([m.weight, m.tags, m.ecsId, m.ext], [5, ['blue'], 'ins-1', { tencent: { Source: 's' } }]);

      // The operator API's PUT describes everything: what it leaves out returns to defaults.
      const full = await replaceUpstream(store, OPERATOR, u.id, { name: u.name, members: [{ host: '10.0.0.1', port: 80 }] }, EVERYTHING);
      assert.deepEqual([full.description, full.retries, full.tags, full.healthCheck, full.ext], ['', 3, [], null, {}]);
      assert.deepEqual([full.members[0]!.tags, full.members[0]!.ecsId, full.members[0]!.weight], [[], '', null]);
    });

    test('effective weight: own weight, else the group\'s, else 1; 0 means no traffic', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const u = await createUpstream(store, OPERATOR, { tenantId: alice, region: 'r1' }, {
        name: uname(), memberGroups: [{ name: 'g7', weight: 7 }, { name: 'gnone' }],
        members: [
          { host: 'a.example', port: 1, weight: 3, group: 'g7' }, { host: 'b.example', port: 1, group: 'g7' },
          { host: 'c.example', port: 1, group: 'gnone' }, { host: 'd.example', port: 1 }, { host: 'e.example', port: 1, weight: 0 },
        ],
      });
      assert.deepEqual(u.members.map((m) => effectiveWeight(u, m)), [3, 7, 1, 1, 0]);
    });

    test('member identity is the effective endpoint: h:0 and h:80 on an http upstream are one member', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      await assert.rejects(
        createUpstream(store, OPERATOR, { tenantId: alice, region: 'r1' }, { name: uname(), members: [{ host: 'H.example', port: 0 }, { host: 'h.example', port: 80 }] }),
        (err: unknown) => err instanceof ModelError && err.code === 'duplicate' && err.field === 'members[1].host',
      );
      // On https the scheme default is 443: port 80 is another endpoint, port 443 the same one.
      const u = await createUpstream(store, OPERATOR, { tenantId: alice, region: 'r1' }, { name: uname(), scheme: 'https', members: [{ host: 'h.example' }, { host: 'h.example', port: 80 }] });
      assert.equal(u.members.length, 2);
      const up = await updateUpstream(store, OPERATOR, u.id, (x) => upsertMembers(x, [{ host: 'h.example', port: 443, weight: 9 }]));
      assert.equal(up.members.length, 2, 'port 443 updated the port-0 member in place');
      assert.deepEqual([up.members[0]!.id, up.members[0]!.weight], [u.members[0]!.id, 9]);
    });

    test('upsert by address: a known endpoint is updated in place, a new one appended, the first duplicate wins', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const u = await createUpstream(store, OPERATOR, { tenantId: alice, region: 'r1' }, { name: uname(), port: 8080, members: [{ host: '10.0.0.1', weight: 1 }, { host: '10.0.0.2' }] });
      const up = await updateUpstream(store, OPERATOR, u.id, (x) => upsertMembers(x, [
        { host: '10.0.0.1', port: 8080, weight: 5 }, { host: '10.0.0.3', weight: 2 }, { host: '10.0.0.3', weight: 4 },
      ]));
      assert.deepEqual(up.members.map((m) => [m.host, m.weight]), [['10.0.0.1', 5], ['10.0.0.2', null], ['10.0.0.3', 2]]);
      assert.equal(up.members[0]!.id, u.members[0]!.id);
      assert.equal(up.members[1]!.id, u.members[1]!.id);
    });

    test('group weight: setting a group\'s weight sets its members\', by upsert or replace alike', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const u = await createUpstream(store, OPERATOR, { tenantId: alice, region: 'r1' }, {
        name: uname(), memberGroups: [{ name: 'blue', remark: 'r', microserviceVersion: 'v1' }],
        members: [{ host: '10.0.0.1', port: 1, weight: 3, group: 'blue' }, { host: '10.0.0.2', port: 1, weight: 4, group: 'blue' }, { host: '10.0.0.3', port: 1, weight: 5 }],
      });
      const gid = u.memberGroups[0]!.id;
      const a = await updateUpstream(store, OPERATOR, u.id, (x) => { replaceGroup(x, gid, { name: 'blue', weight: 8 }, ['name', 'weight', 'remark']); });
      assert.deepEqual(a.members.map((m) => m.weight), [8, 8, 5]);
      assert.equal(a.memberGroups[0]!.microserviceVersion, 'v1', 'a field the call did not describe stays');
      assert.equal(a.memberGroups[0]!.remark, '', 'a described field left out returns to its default');
      const b = await updateUpstream(store, OPERATOR, u.id, (x) => upsertGroups(x, [{ name: 'blue', weight: 2 }]));
      assert.deepEqual(b.members.map((m) => m.weight), [2, 2, 5]);
      const c = await updateUpstream(store, OPERATOR, u.id, (x) => upsertGroups(x, [{ name: 'blue', weight: null }]));
      assert.deepEqual(c.members.map((m) => m.weight), [2, 2, 5], 'a group without a weight leaves its members\' own');
      await assert.rejects(
        updateUpstream(store, OPERATOR, u.id, (x) => { upsertGroups(x, [{ name: 'green' }]); replaceGroup(x, gid, { name: 'green' }); }),
        (err: unknown) => err instanceof ModelError && err.code === 'duplicate',
      );
    });
  });
}
