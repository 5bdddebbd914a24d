// npm run bench:profile -- [PROXY] [BASELINE] [SECONDS]: each Node proxy in turn under
// 64-connection load with --cpu-prof, then the functions costing PROXY the most CPU per
// request, with the baseline's cost beside (default: sluice against undici-bare). For
// finding what limits the hot path; the figures are slowed by profiling, compare them only
// with each other.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, stop } from './lib.js';
import { LOAD_CPU, proxySpecs, startBackends } from './proxies.js';

interface ProfileNode { callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number }
/** CPU microseconds per request, by function. */
type Costs = Map<string, number>;

const [name = 'sluice', baseline = 'undici-bare', secs = '10'] = process.argv.slice(2);

function label(f: ProfileNode['callFrame']): string {
  const where = f.url ? ` ${f.url.replace(/^.*\/(node_modules\/|src\/|dist\/|bench\/)/, '$1')}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'}${where}`;
}

async function profile(proxy: string, backends: number[]): Promise<{ rps: number; costs: Costs }> {
  const spec = proxySpecs().find((s) => s.name === proxy && s.node);
  if (!spec) throw new Error(`no Node proxy named ${proxy}`);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-profile-'));
  const r = await spec.start(backends, ['--no-memory-reducer', '--cpu-prof', `--cpu-prof-dir=${dir}`]);
  let rps: number;
  try {
    const url = `http://127.0.0.1:${r.port}/`;
    await load(url, 64, 2, LOAD_CPU);
    rps = (await load(url, 64, Number(secs), LOAD_CPU)).rps;
  } finally {
    await stop(r.proc);
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`${proxy} wrote no profile`);
  const nodes = (JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: ProfileNode[] }).nodes;
  const total = nodes.reduce((s, n) => s + n.hitCount, 0);
  const costs: Costs = new Map();
  // Each sample is an equal slice of wall time; the proxy ran one core flat out.
  const usPerSample = 1e6 / rps / total;
  for (const n of nodes) {
    const k = label(n.callFrame);
    costs.set(k, (costs.get(k) ?? 0) + n.hitCount * usPerSample);
  }
  process.stdout.write(`${proxy}: ${rps.toFixed(0)} req/s under --cpu-prof (${(1e6 / rps).toFixed(1)} µs per request); profile in ${dir}\n`);
  return { rps, costs };
}

const backends = await startBackends();
try {
  const a = await profile(name, backends.ports);
  const b = await profile(baseline, backends.ports);
  process.stdout.write(`\n${'µs/req'.padStart(8)} ${baseline.padStart(12)}  function (${name})\n`);
  for (const [k, v] of [...a.costs].sort((x, y) => y[1] - x[1]).slice(0, 40)) {
    process.stdout.write(`${v.toFixed(2).padStart(8)} ${(b.costs.get(k) ?? 0).toFixed(2).padStart(12)}  ${k}\n`);
  }
  const own = [...a.costs].filter(([k]) => k.includes(' dist/')).reduce((s, [, v]) => s + v, 0);
  process.stdout.write(`\n${name}'s own code (dist/): ${own.toFixed(2)} µs per request\n`);
} finally {
  for (const p of backends.procs) await stop(p);
}
