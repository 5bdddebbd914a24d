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

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number }
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
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; endTime: number };
  // Only the samples from inside the measured load (start-up, warm-up and exit left out):
  // the last `secs` seconds before the profile ends, less a margin at each end.
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const hits = new Map<number, number>();
  let t = prof.endTime;
  for (let i = prof.samples.length - 1; i >= 0; i--) {
    const age = prof.endTime - t;
    if (age > 1e6 * (Number(secs) - 0.5)) break;
    if (age > 1e6) hits.set(prof.samples[i]!, (hits.get(prof.samples[i]!) ?? 0) + 1);
    t -= prof.timeDeltas[i]!;
  }
  const total = [...hits.values()].reduce((a, b) => a + b, 0);
  const costs: Costs = new Map();
  // Each sample is an equal slice of wall time; the proxy ran one core flat out.
  const usPerSample = 1e6 / rps / total;
  for (const [id, n] of hits) {
    const k = label(byId.get(id)!.callFrame);
    costs.set(k, (costs.get(k) ?? 0) + n * usPerSample);
  }
  process.stdout.write(`${proxy}: ${rps.toFixed(0)} req/s under --cpu-prof (${(1e6 / rps).toFixed(1)} µs per request); profile in ${dir}\n`);
  return { rps, costs };
}

/** A proxy's own functions (those under `dir`), the costliest first. */
function ownCode(proxy: string, costs: Costs, dir: string, top: number): void {
  const own = [...costs].filter(([k]) => k.includes(` ${dir}`)).sort((x, y) => y[1] - x[1]);
  process.stdout.write(`${proxy}'s own code (${dir}): ${own.reduce((s, [, v]) => s + v, 0).toFixed(2)} µs per request\n`);
  for (const [k, v] of own.slice(0, top)) process.stdout.write(`${v.toFixed(2).padStart(8)}  ${k}\n`);
}

const backends = await startBackends();
try {
  const a = await profile(name, backends.ports);
  const b = await profile(baseline, backends.ports);
  process.stdout.write(`\n${'µs/req'.padStart(8)} ${baseline.padStart(12)}  function (${name})\n`);
  for (const [k, v] of [...a.costs].sort((x, y) => y[1] - x[1]).slice(0, 40)) {
    process.stdout.write(`${v.toFixed(2).padStart(8)} ${(b.costs.get(k) ?? 0).toFixed(2).padStart(12)}  ${k}\n`);
  }
  process.stdout.write('\n');
  ownCode(name, a.costs, 'dist/', 15);
  ownCode(baseline, b.costs, 'bench/', 8);
} finally {
  for (const p of backends.procs) await stop(p);
}
