import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBalancer, type PickContext, type Target } from '../../src/balance/index.js';
import type { Strategy } from '../../src/model/types.js';

const STRATEGIES: Strategy[] = ['wrr', 'wlc', 'source_ip_hash', 'uri_hash'];

function targets(weights: number[], backup: boolean[] = []): Target[] {
  return weights.map((weight, i) => ({ id: `m${i}`, weight, backup: backup[i] ?? false }));
}

let keySeq = 0;
/** A fresh request context: distinct client IPs and paths, so the hashes spread. */
function ctx(eligible?: (t: Target) => boolean): PickContext {
  const n = keySeq++;
  return { clientIp: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, path: `/p/${n}`, eligible };
}

/** One request through the balancer, ending at once (no concurrency). */
function serve(b: ReturnType<typeof createBalancer>, c: PickContext): Target | null {
  const t = b.pick(c);
  if (t) { b.onStart(t); b.onEnd(t); }
  return t;
}

for (const strategy of STRATEGIES) {
  describe(`balancer ${strategy}`, () => {
    it('returns null with no targets, and when nothing is eligible', () => {
      assert.equal(createBalancer(strategy, []).pick(ctx()), null);
      assert.equal(createBalancer(strategy, targets([1, 2])).pick(ctx(() => false)), null);
    });

    it('gives nothing to weight-0 members', () => {
      const b = createBalancer(strategy, targets([0, 3, 0, 2]));
      for (let i = 0; i < 2000; i++) {
        const t = serve(b, ctx())!;
        assert.ok(t.id === 'm1' || t.id === 'm3', `picked ${t.id}`);
      }
    });

    it('respects the eligibility filter', () => {
      const b = createBalancer(strategy, targets([5, 5, 5]));
      for (let i = 0; i < 1000; i++) assert.notEqual(serve(b, ctx((t) => t.id !== 'm1'))!.id, 'm1');
    });

    it('uses backups only while no primary is eligible, and gives them up at once', () => {
      const b = createBalancer(strategy, targets([1, 1, 1, 1], [false, false, true, true]));
      for (let i = 0; i < 200; i++) assert.ok(!serve(b, ctx())!.backup);
      for (let i = 0; i < 200; i++) assert.ok(serve(b, ctx((t) => t.backup))!.backup);
      for (let i = 0; i < 200; i++) assert.ok(serve(b, ctx((t) => t.id !== 'm0'))!.id === 'm1');
      assert.ok(!serve(b, ctx())!.backup);
    });

    it('shares traffic by weight over 100,000 requests (within 10%)', () => {
      const weights = [1, 2, 3, 4];
      const b = createBalancer(strategy, targets(weights));
      const counts = new Map<string, number>();
      const n = 100_000;
      for (let i = 0; i < n; i++) {
        const t = serve(b, ctx())!;
        counts.set(t.id, (counts.get(t.id) ?? 0) + 1);
      }
      const total = weights.reduce((a, w) => a + w, 0);
      weights.forEach((w, i) => {
        const share = (counts.get(`m${i}`) ?? 0) / n;
        const want = w / total;
        assert.ok(Math.abs(share - want) <= want * 0.1, `m${i}: share ${share.toFixed(4)} want ${want.toFixed(4)}`);
      });
    });

    it('picks in O(log n): a 10,000-member pool serves 50,000 picks, each a live member', () => {
      const big = targets(Array.from({ length: 10_000 }, (_, i) => 1 + (i % 7)));
      const b = createBalancer(strategy, big);
      const seen = new Set<string>();
      for (let i = 0; i < 50_000; i++) seen.add(serve(b, ctx())!.id);
      // 50,000 picks over 10,000 members: rotating and hashing strategies both reach most of them.
      assert.ok(seen.size > 9_000, `only ${seen.size} members picked`);
    });
  });
}

describe('weighted round robin', () => {
  it('picks each member exactly weight times in every W consecutive picks', () => {
    const weights = [5, 1, 1, 3, 10];
    const W = weights.reduce((a, w) => a + w, 0);
    const b = createBalancer('wrr', targets(weights));
    const seq = Array.from({ length: W * 6 }, () => serve(b, ctx())!.id);
    for (let start = 0; start + W <= seq.length; start++) {
      const counts = new Map<string, number>();
      for (const id of seq.slice(start, start + W)) counts.set(id, (counts.get(id) ?? 0) + 1);
      weights.forEach((w, i) => assert.equal(counts.get(`m${i}`) ?? 0, w, `window at ${start}, m${i}`));
    }
  });

  it('interleaves smoothly: no prefix drifts more than one pick from its share', () => {
    const weights = [5, 1, 1];
    const W = 7;
    const b = createBalancer('wrr', targets(weights));
    const counts = [0, 0, 0];
    for (let k = 1; k <= W * 10; k++) {
      counts[Number(serve(b, ctx())!.id.slice(1))]!++;
      weights.forEach((w, i) => assert.ok(Math.abs(counts[i]! - (k * w) / W) < 1.0001, `after ${k}: m${i}=${counts[i]}`));
    }
    // And the heavy member's turns are spread: never more than ceil(W / w) + 1 picks apart.
    const seq = Array.from({ length: W * 4 }, () => serve(b, ctx())!.id);
    const at = seq.flatMap((id, i) => (id === 'm0' ? [i] : []));
    for (let i = 1; i < at.length; i++) assert.ok(at[i]! - at[i - 1]! <= Math.ceil(W / 5) + 1, seq.join(' '));
  });

  it('keeps exact proportions when a member is skipped once (retry) and does not burst after an absence', () => {
    const b = createBalancer('wrr', targets([1, 1, 1]));
    assert.equal(serve(b, ctx())!.id, 'm0');
    assert.equal(serve(b, ctx((t) => t.id !== 'm1'))!.id, 'm2');
    // m1 was passed over once: it is next.
    assert.equal(serve(b, ctx())!.id, 'm1');
    for (let i = 0; i < 300; i++) serve(b, ctx((t) => t.id !== 'm2'));
    const back = Array.from({ length: 6 }, () => serve(b, ctx())!.id);
    assert.ok(back.filter((id) => id === 'm2').length <= 3, `burst after absence: ${back.join(' ')}`);
  });
});

describe('weighted least connections', () => {
  it('sends to the member with the least in-flight requests per unit of weight', () => {
    const b = createBalancer('wlc', targets([1, 2]));
    const held: Target[] = [];
    for (let i = 0; i < 30; i++) { const t = b.pick(ctx())!; b.onStart(t); held.push(t); }
    const m1 = held.filter((t) => t.id === 'm1').length;
    assert.equal(m1, 20);
    // Free all of m1's: it is now the least loaded and takes the next ones.
    for (const t of held.filter((h) => h.id === 'm1')) b.onEnd(t);
    for (let i = 0; i < 10; i++) { const t = b.pick(ctx())!; assert.equal(t.id, 'm1'); b.onStart(t); }
  });

  it('rotates among members with equal load', () => {
    const b = createBalancer('wlc', targets([1, 1, 1]));
    const ids = Array.from({ length: 9 }, () => serve(b, ctx())!.id);
    assert.deepEqual(ids, ['m0', 'm1', 'm2', 'm0', 'm1', 'm2', 'm0', 'm1', 'm2']);
  });

  it('moves the rotation on for a pick that is never started, and counts a started one once', () => {
    const b = createBalancer('wlc', targets([1, 1, 1]));
    assert.deepEqual(Array.from({ length: 6 }, () => b.pick(ctx())!.id), ['m0', 'm1', 'm2', 'm0', 'm1', 'm2']);
    const notStarted = b.pick(ctx())!;
    const started = b.pick(ctx())!;
    b.onStart(started);
    assert.deepEqual([notStarted.id, started.id], ['m0', 'm1']);
    // m1 is busy: the idle ones take turns.
    assert.deepEqual(Array.from({ length: 4 }, () => b.pick(ctx())!.id), ['m2', 'm0', 'm2', 'm0']);
    b.onEnd(started);
    assert.equal(b.pick(ctx())!.id, 'm1');
  });
});

for (const strategy of ['source_ip_hash', 'uri_hash'] as const) {
  describe(`consistent hash ${strategy}`, () => {
    const keyed = (k: number): PickContext => ({ clientIp: `192.168.${k >> 8 & 255}.${k & 255}:${k}`, path: `/item/${k}` });

    it('keeps the same key on the same member', () => {
      const b = createBalancer(strategy, targets([1, 1, 1, 1, 1]));
      for (let k = 0; k < 2000; k++) {
        const first = b.pick(keyed(k))!.id;
        for (let r = 0; r < 3; r++) assert.equal(b.pick(keyed(k))!.id, first);
      }
      // A rebuilt balancer over the same members agrees.
      const again = createBalancer(strategy, targets([1, 1, 1, 1, 1]));
      for (let k = 0; k < 2000; k++) assert.equal(again.pick(keyed(k))!.id, b.pick(keyed(k))!.id);
    });

    it('moves only the keys of a removed member', () => {
      const all = targets([2, 2, 2, 2, 2]);
      const before = createBalancer(strategy, all);
      const after = createBalancer(strategy, all.filter((t) => t.id !== 'm2'));
      let moved = 0;
      for (let k = 0; k < 20_000; k++) {
        const was = before.pick(keyed(k))!.id;
        const now = after.pick(keyed(k))!.id;
        if (was !== 'm2') assert.equal(now, was, `key ${k} moved from ${was} to ${now}`);
        else moved++;
      }
      assert.ok(moved > 0);
    });

    it('sends a key whose member is ineligible to the next member, and back when it returns', () => {
      const b = createBalancer(strategy, targets([1, 1, 1]));
      for (let k = 0; k < 500; k++) {
        const home = b.pick(keyed(k))!.id;
        const away = b.pick({ ...keyed(k), eligible: (t) => t.id !== home })!.id;
        assert.notEqual(away, home);
        assert.equal(b.pick(keyed(k))!.id, home);
      }
    });
  });
}
