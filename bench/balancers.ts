// Balancer micro-benchmark: picks per second per strategy at 10, 1,000 and 10,000 members.
import { createBalancer, type PickContext, type Target } from '../src/balance/index.js';
import type { Strategy } from '../src/model/types.js';

const STRATEGIES: Strategy[] = ['wrr', 'wlc', 'source_ip_hash', 'uri_hash'];

function picksPerSecond(strategy: Strategy, members: number): number {
  const targets: Target[] = Array.from({ length: members }, (_, i) => ({ id: `member-${i}`, weight: 1 + (i % 10), backup: false }));
  const b = createBalancer(strategy, targets);
  const ctxs: PickContext[] = Array.from({ length: 1024 }, (_, i) => ({ clientIp: `10.0.${i >> 8}.${i & 255}`, path: `/api/items/${i}` }));
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const t = b.pick(ctxs[i & 1023]!)!;
      b.onStart(t); b.onEnd(t);
    }
  };
  run(200_000); // warm-up
  const n = 1_000_000;
  const t0 = process.hrtime.bigint();
  run(n);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return n / s;
}

export function balancerTable(): string {
  const sizes = [10, 1_000, 10_000];
  const lines = ['## Balancer picks (pick + start + end, 1,000,000 iterations)', '', `| strategy | ${sizes.map((n) => `${n.toLocaleString('en')} members`).join(' | ')} |`, `|---|${sizes.map(() => '---:').join('|')}|`];
  for (const s of STRATEGIES) {
    lines.push(`| ${s} | ${sizes.map((n) => { const pps = picksPerSecond(s, n); return `${(pps / 1e6).toFixed(2)} M/s (${(1e6 / pps).toFixed(3)} µs)`; }).join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

if (process.argv[1]?.endsWith('balancers.ts')) process.stdout.write(balancerTable());
