// npm run bench:profile -- NAME: one proxy under 64-connection load with --cpu-prof, then
// the functions with the most self time. For finding what limits the hot path.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, stop } from './lib.js';
import { LOAD_CPU, proxySpecs, startBackends } from './proxies.js';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number }

const name = process.argv[2] ?? 'sluice';
const seconds = Number(process.argv[3] ?? 10);
const spec = proxySpecs().find((s) => s.name === name && s.node);
if (!spec) throw new Error(`no Node proxy named ${name}`);
const dir = mkdtempSync(join(tmpdir(), 'sluice-profile-'));
const backends = await startBackends();
const r = await spec.start(backends.ports, ['--no-memory-reducer', '--cpu-prof', `--cpu-prof-dir=${dir}`]);
try {
  const url = `http://127.0.0.1:${r.port}/`;
  await load(url, 64, 2, LOAD_CPU);
  const res = await load(url, 64, seconds, LOAD_CPU);
  process.stdout.write(`${name}: ${res.rps.toFixed(0)} req/s under --cpu-prof\n`);
} finally {
  await stop(r.proc);
  for (const p of backends.procs) await stop(p);
}
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error('no profile written');
const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: Node[] };
const total = prof.nodes.reduce((s, n) => s + n.hitCount, 0);
const byFn = new Map<string, number>();
for (const n of prof.nodes) {
  const f = n.callFrame;
  const where = f.url ? `${f.url.replace(/^.*\/(node_modules\/|src\/|dist\/)/, '$1')}:${f.lineNumber + 1}` : '';
  const k = `${f.functionName || '(anonymous)'} ${where}`;
  byFn.set(k, (byFn.get(k) ?? 0) + n.hitCount);
}
for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 40)) process.stdout.write(`${(100 * v / total).toFixed(2).padStart(6)}%  ${k}\n`);
process.stdout.write(`profile: ${join(dir, file)}\n`);
