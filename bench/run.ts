// npm run bench: sluice against a bare undici proxy, @fastify/reply-from, http-proxy, and
// nginx and HAProxy when installed, on this machine, loopback only. See bench/README.md.
import { parseArgs } from 'node:util';
import { cpuSeconds, has, load, median, shippedNodeFlags, sleep, stop, upstreamConnections, writeResults } from './lib.js';
import { LOAD_CPU, proxySpecs, startBackends, type ProxySpec, type Running } from './proxies.js';
import { balancerTable } from './balancers.js';

const { values } = parseArgs({ options: {
  duration: { type: 'string', default: '15' },
  rounds: { type: 'string', default: '3' },
  idle: { type: 'string', default: '90' },
  'latency-duration': { type: 'string', default: '10' },
  only: { type: 'string' },
} });
const DURATION = Number(values.duration);
const ROUNDS = Number(values.rounds);
const IDLE = Number(values.idle);
const LAT_DURATION = Number(values['latency-duration']);

const FLAGSETS = [
  { label: 'default flags', flags: [] as string[] },
  { label: `${shippedNodeFlags().join(' ')} (as sluice ships)`, flags: shippedNodeFlags() },
];

interface Sample { round: number; rps: number; p50: number; p99: number; cpu: number; opened: number; c1p50: number; errors: number }
const samples = new Map<string, Sample[]>();
const key = (name: string, flagset: string, phase: string) => `${name}|${flagset}|${phase}`;

async function measure(r: Running, backends: number[], round: number, flagset: string, phase: string, latency = true): Promise<void> {
  const url = `http://127.0.0.1:${r.port}/`;
  await load(url, 64, 2, LOAD_CPU); // warm-up: JIT, pools
  let mid = new Set<string>();
  const cpu0 = cpuSeconds(r.proc.pid!);
  const t0 = Date.now();
  const res = await load(url, 64, DURATION, LOAD_CPU, () => { mid = upstreamConnections(backends); });
  const cpu = (cpuSeconds(r.proc.pid!) - cpu0) / ((Date.now() - t0) / 1000);
  const end = upstreamConnections(backends);
  // A health probe's connection lives for a millisecond; one still open half a second later
  // belongs to a pool: that is churn (or a pool growing), which must not happen.
  await sleep(500);
  const later = upstreamConnections(backends);
  const opened = [...end].filter((c) => !mid.has(c) && later.has(c)).length;
  const c1 = latency ? await load(url, 1, LAT_DURATION, LOAD_CPU) : null;
  const s: Sample = { round, rps: res.rps, p50: res.p50, p99: res.p99, cpu: cpu * 100, opened, c1p50: c1?.p50 ?? NaN, errors: res.errors + res.non2xx };
  const k = key(r.name, flagset, phase);
  samples.set(k, [...(samples.get(k) ?? []), s]);
  process.stdout.write(`  round ${round} ${phase} ${r.name} [${flagset}]: ${res.rps.toFixed(0)} req/s, p50 ${res.p50} ms, p99 ${res.p99} ms, cpu ${s.cpu.toFixed(0)}%, c1 p50 ${s.c1p50} ms, upstream conns opened ${opened}, errors ${s.errors}\n`);
}

async function main(): Promise<void> {
  if (!has('wrk')) process.stdout.write('wrk not found: using autocannon (slower client; install wrk with `apt-get install wrk`)\n');
  for (const [cmd, pkg] of [['nginx', 'nginx-light'], ['haproxy', 'haproxy']] as const) {
    if (!has(cmd)) process.stdout.write(`${cmd} not found: skipped (install with \`apt-get install ${pkg}\`)\n`);
  }
  const only = values.only?.split(',');
  const specs = proxySpecs().filter((s) => !only || only.includes(s.name));
  const backends = await startBackends();
  process.stdout.write(`backends: ${backends.kind} on ports ${backends.ports.join(', ')}; ${DURATION} s per run, ${ROUNDS} rounds, proxies on CPU 0, load and backends on CPU 1\n`);
  const running: Running[] = [];
  // Interrupted: stop everything this run started before going.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const r of running) r.proc.kill('SIGKILL');
      for (const p of backends.procs) p.kill('SIGKILL');
      process.exit(130);
    });
  }
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      // Odd rounds A B C ..., even rounds ... C B A: whatever drifts while a round runs
      // (the VM's neighbours, the backends' state) does not always favour the same proxy.
      const order = round % 2 === 1 ? specs : [...specs].reverse();
      for (const fs of FLAGSETS) {
        for (const spec of order) {
          // nginx and HAProxy have no V8 flags: measured once per round.
          if (!spec.node && fs !== FLAGSETS[0]) continue;
          const r = await spec.start(backends.ports, fs.flags);
          running.push(r);
          try { await measure(r, backends.ports, round, spec.node ? fs.label : '-', 'fresh'); } finally { await stop(r.proc); }
        }
      }
    }
    if (IDLE > 0) {
      const idle: { r: Running; fs: string }[] = [];
      for (const fs of FLAGSETS) {
        for (const spec of specs.filter((s: ProxySpec) => s.node)) {
          const r = await spec.start(backends.ports, fs.flags);
          running.push(r);
          await load(`http://127.0.0.1:${r.port}/`, 64, 3, LOAD_CPU);
          idle.push({ r, fs: fs.label });
        }
      }
      process.stdout.write(`idle for ${IDLE} s...\n`);
      await sleep(IDLE * 1000);
      for (const { r, fs } of idle) await measure(r, backends.ports, 1, fs, `after ${IDLE} s idle`, false);
    }
  } finally {
    await Promise.all(running.map((r) => stop(r.proc)));
    await Promise.all(backends.procs.map((p) => stop(p)));
  }
  const report = render(backends.kind) + '\n' + balancerTable();
  process.stdout.write(`\n${report}`);
  const file = writeResults('', report);
  process.stdout.write(`\nwritten to ${file}\n`);
}

function roundRatios(s: Sample[], ref: Sample[]): number[] {
  return s.flatMap((x) => { const y = ref.find((r) => r.round === x.round); return y ? [x.rps / y.rps] : []; });
}

function ratioTo(s: Sample[], ref: Sample[] | undefined): string {
  const ratios = ref ? roundRatios(s, ref) : [];
  return ratios.length ? median(ratios).toFixed(2) : '–';
}

/** The median, and each round's ratio: on a shared VM they spread more than the bars' margins. */
function ratioWithRounds(s: Sample[] | undefined, ref: Sample[] | undefined): string {
  const ratios = s && ref ? roundRatios(s, ref) : [];
  if (!ratios.length) return '–';
  return `${median(ratios).toFixed(2)} (rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')})`;
}

function render(backendKind: string): string {
  const rows: string[] = [];
  const fmt = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0));
  for (const [k, s] of samples) {
    const [name, flagset, phase] = k.split('|') as [string, string, string];
    const rps = s.map((x) => x.rps);
    const med = median(rps);
    const spread = ((Math.max(...rps) - Math.min(...rps)) / med) * 100;
    const undici = samples.get(key('undici-bare', flagset === '-' ? FLAGSETS[1]!.label : flagset, phase));
    const nginx = samples.get(key('nginx', '-', 'fresh'));
    rows.push(`| ${name} | ${flagset} | ${phase} | **${fmt(med)}** (${fmt(Math.min(...rps))}–${fmt(Math.max(...rps))}) | ${spread.toFixed(0)}% | ${median(s.map((x) => x.p50)).toFixed(2)} / ${median(s.map((x) => x.p99)).toFixed(2)} | ${median(s.map((x) => x.cpu)).toFixed(0)} | ${ratioTo(s, undici)} | ${ratioTo(s, nginx)} | ${Number.isNaN(s[0]!.c1p50) ? '–' : median(s.map((x) => x.c1p50)).toFixed(3)} | ${Math.max(...s.map((x) => x.opened))} | ${s.reduce((a, x) => a + x.errors, 0)} |`);
  }
  const shipped = FLAGSETS[1]!.label;
  const get = (n: string) => samples.get(key(n, shipped, 'fresh'));
  const bar = (label: string, value: string, want: string) => `- ${label}: ${value} (bar ${want})`;
  const sl = get('sluice'); const un = get('undici-bare'); const rf = get('reply-from'); const hp = get('http-proxy');
  const ng = samples.get(key('nginx', '-', 'fresh'));
  const c1 = sl && un ? (median(sl.map((x) => x.c1p50)) / median(un.map((x) => x.c1p50))).toFixed(2) : '–';
  return [
    `## L7 proxy benchmark (${new Date().toISOString().slice(0, 10)})`,
    '',
    `wrk -t1 -c64 -d${DURATION}s, GET, ~100-byte body, round robin over 3 keep-alive backends (${backendKind}); proxy on CPU 0, wrk and backends on CPU 1; ${ROUNDS} interleaved rounds, median (min–max). Ratios are per round against the same round's run. c1 p50 = wrk -c1 -d${LAT_DURATION}s. "conns opened" = upstream connections opened during the steady second half of the run and still open 0.5 s after it (short-lived health-probe connections excluded).`,
    '',
    '| proxy | V8 flags | phase | req/s | spread | p50 / p99 ms | proxy CPU % | ÷ bare undici | ÷ nginx | c1 p50 ms | conns opened | errors |',
    '|---|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Bars (same V8 flags: ${shipped}):`,
    // The HTTP/1.1 engine's bars (the issue that made it); the Node peers' bars are older.
    bar('sluice ÷ bare undici', ratioWithRounds(sl, un), '≥ 2.0'),
    bar('sluice ÷ nginx', ratioWithRounds(sl, ng), '≥ 0.7'),
    bar('sluice ÷ @fastify/reply-from', ratioWithRounds(sl, rf), '≥ 1.45'),
    bar('sluice ÷ http-proxy', ratioWithRounds(sl, hp), '≥ 1.75'),
    bar('sluice c1 p50 ÷ bare undici c1 p50', c1, '≤ 1.0'),
    '',
  ].join('\n');
}

main().catch((err: unknown) => { console.error(err); process.exitCode = 1; });
