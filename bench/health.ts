// Health checker at scale: 1,000 members probed every second by one node (HTTP probes,
// fresh connection each). Reports the checker's CPU use and how long a change takes to
// become a verdict. Loopback only; bounded in time.
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { HealthChecker } from '../src/health/checker.js';
import { createLogger } from '../src/logger.js';
import { defaultHealthCheck } from '../src/model/defaults.js';
import type { Upstream } from '../src/model/types.js';
import { Runtime } from '../src/runtime/runtime.js';
import { EMPTY_CONFIG } from '../src/runtime/config.js';
import { MemberPools } from '../src/proxy/lean/member-pool.js';

if (process.argv[2] === 'backend') {
  let failing = false;
  const server = createServer((_req, res) => { res.writeHead(failing ? 503 : 200).end(); });
  server.listen(0, '0.0.0.0', () => process.send!((server.address() as AddressInfo).port));
  process.on('message', () => { failing = true; });
  process.on('disconnect', () => process.exit(0));
} else {
  await main();
}

async function main(): Promise<void> {
const MEMBERS = 1000;
const SECONDS = 20;

// The backend runs in a process of its own, so the CPU figure below is the checker's alone.
const backend = fork(fileURLToPath(import.meta.url), ['backend'], { execArgv: ['--import', 'tsx'] });
const port = await new Promise<number>((r) => backend.once('message', (m) => r(m as number)));

// 1,000 members at distinct loopback addresses (127.0.x.y), one backend socket behind them all.
const now = new Date().toISOString();
const check = { ...defaultHealthCheck(), protocol: 'http' as const, path: '/health', interval: 1, timeout: 0.5, healthyThreshold: 1, unhealthyThreshold: 1 };
const upstream: Upstream = {
  id: 'bench', tencentId: 'upstream-bench0001', tenantId: 't', projectId: 'p', instanceId: 'i', name: 'bench', description: '', scheme: 'http', strategy: 'wrr', port,
  retries: 3, upstreamHost: null, tlsVerify: true, failMode: 'open', memberType: 'ip', channelType: 'builtin', tags: [], networkId: '',
  healthCheck: check, memberGroups: [], ext: {}, createdAt: now, updatedAt: now,
  members: Array.from({ length: MEMBERS }, (_, i) => ({ id: `m${i}`, host: `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`, port, weight: 1, backup: false, enabled: true, groupId: null, ecsId: '', ecsName: '', tags: [], ext: {}, createdAt: now })),
};

const logger = createLogger('silent');
const runtime = new Runtime({ logger, pools: new MemberPools() });
let unhealthy = 0;
let healthy = 0;
const checker = new HealthChecker(logger, (u) => {
  runtime.setHealth(u);
  if (u.state === 'unhealthy') unhealthy++;
  if (u.state === 'healthy') healthy++;
});
runtime.onSnapshot((s) => checker.sync(s));

const cpu0 = process.cpuUsage();
const t0 = Date.now();
runtime.apply({ ...EMPTY_CONFIG, revision: 1, upstreams: [upstream] });
while (healthy < MEMBERS && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
const firstVerdict = Date.now() - t0;
await new Promise((r) => setTimeout(r, SECONDS * 1000 - firstVerdict));
const cpu = process.cpuUsage(cpu0);
const steadyCpu = (cpu.user + cpu.system) / 1e6 / SECONDS;

backend.send('fail');
const t1 = Date.now();
while (unhealthy < MEMBERS && Date.now() - t1 < 10_000) await new Promise((r) => setTimeout(r, 5));
const toUnhealthy = Date.now() - t1;

checker.close();
runtime.close();
backend.kill();
console.log(`## Health checker: ${MEMBERS} members, HTTP probes every 1 s (fresh connection each), one process\n`);
console.log(`- all ${MEMBERS} members healthy ${firstVerdict} ms after the config arrived`);
console.log(`- CPU of the checker's process while probing: ${(steadyCpu * 100).toFixed(1)} % of one core over ${SECONDS} s`);
console.log(`- backend starts failing → all ${MEMBERS} unhealthy after ${toUnhealthy} ms (threshold 1; bound: one interval)`);
console.log(`- stats after close: ${JSON.stringify(checker.stats())}`);
process.exit(0);
}
