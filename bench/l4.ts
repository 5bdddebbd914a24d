// npm run bench:l4: sluice's L4 plane against a bare Node net proxy (and node:dgram relay),
// nginx stream and HAProxy mode tcp when installed, on this machine, loopback only; then the
// budgets (the 100 Mbps cap, refusal at the connection cap) and sluice's memory over a long
// bulk run. Table to stdout and bench/results/l4-latest.md. See bench/README.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { cpuSeconds, freePort, has, load, median, pct, pinned, rssMiB, stop, writeResults } from './lib.js';
import { FAST_BUDGET, l4Specs, NODE_FLAGS, sluiceProxy, sluiceTenant, type L4Origins, type L4Running, type L4Spec } from './l4-peers.js';
import { LOAD_CPU, PROXY_CPU, startBackends } from './proxies.js';
import { startSluice } from './sluice.js';

const { values } = parseArgs({ options: {
  quick: { type: 'boolean', default: false },
  rounds: { type: 'string' },
  duration: { type: 'string' },
  'bulk-mib': { type: 'string' },
  'udp-duration': { type: 'string' },
  'cap-duration': { type: 'string' },
  'rss-duration': { type: 'string' },
  attempts: { type: 'string' },
  only: { type: 'string' },
  'skip-budgets': { type: 'boolean', default: false },
  tests: { type: 'string', default: 'http,bulk,udp' },
  'cpu-prof': { type: 'string' },
  'sluice-flags': { type: 'string' },
} });
const Q = values.quick;
const num = (v: string | undefined, full: number, quick: number) => (v === undefined ? (Q ? quick : full) : Number(v));
const ROUNDS = num(values.rounds, 3, 1);
const DURATION = num(values.duration, 10, 3);
const BULK_BYTES = num(values['bulk-mib'], 1024, 256) * 1024 * 1024;
const UDP_DURATION = num(values['udp-duration'], 5, 2);
const CAP_DURATION = num(values['cap-duration'], 10, 4);
const RSS_DURATION = num(values['rss-duration'], 60, 10);
const ATTEMPTS = num(values.attempts, 200, 50);
const UDP = { sockets: 4, window: 16, size: 64 };
const CAP_MBPS = 100;
const CAP_CONNECTIONS = 10;
const TESTS = new Set(values.tests!.split(','));
const SLUICE_FLAGS = [
  ...(values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : []),
  ...(values['sluice-flags'] ?? '').split(' ').filter(Boolean),
];

const NODE_TCP = 'node net (pipe)';
const NODE_UDP = 'node dgram relay';
const NGINX = 'nginx stream';

const notes: string[] = [];
const children = new Set<ChildProcess>();
const note = (s: string) => { notes.push(s); process.stdout.write(`  note: ${s}\n`); };

/** One run of bench/peers/l4-load.mjs on the load CPU; its JSON answer, or a thrown error. */
async function runLoad<T>(mode: string, args: Record<string, unknown>, timeoutMs: number): Promise<T> {
  const [file, argv] = pinned(process.execPath, ['bench/peers/l4-load.mjs', mode, JSON.stringify(args)], LOAD_CPU);
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = ''; let err = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { err = (err + d).slice(-1000); });
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await new Promise((r) => child.once('exit', r));
  clearTimeout(killer);
  children.delete(child);
  const line = out.trim().split('\n').pop() ?? '';
  let j: T & { error?: string };
  try { j = JSON.parse(line); } catch { throw new Error(`load ${mode}: no answer (${child.signalCode ?? child.exitCode}) ${err}`); }
  if (j.error) throw new Error(`load ${mode}: ${j.error}`);
  return j;
}

type Metric = 'http' | 'bulk1' | 'bulk8' | 'udp';
interface Sample { round: number; value: number; cpuPct: number; perCpu: number; p50?: number; p99?: number; errors?: number; lost?: number }
const samples: Record<Metric, Map<string, Sample[]>> = { http: new Map(), bulk1: new Map(), bulk8: new Map(), udp: new Map() };
const add = (m: Metric, name: string, s: Sample) => samples[m].set(name, [...(samples[m].get(name) ?? []), s]);

/** CPU seconds `proc` spends while `f` runs, and the wall seconds. */
async function withCpu<T>(proc: ChildProcess, f: () => Promise<T>): Promise<{ r: T; cpu: number; wall: number }> {
  const c0 = cpuSeconds(proc.pid!); const t0 = performance.now();
  const r = await f();
  return { r, cpu: cpuSeconds(proc.pid!) - c0, wall: (performance.now() - t0) / 1000 };
}

interface BulkResult { bytes: number; sent: number; seconds: number; mbps: number; complete: boolean }
interface UdpResult { seconds: number; replies: number; rate: number; lost: number }
const bulkTimeout = (bytes: number) => 30_000 + bytes / 50_000; // ≥ 50 MB/s, else something is wrong

async function measure(r: L4Running, spec: L4Spec, o: L4Origins, round: number): Promise<void> {
  const tag = `round ${round} ${r.name}`;
  const url = `http://127.0.0.1:${r.http}/`;
  if (TESTS.has('http')) try {
    await load(url, 64, 2, LOAD_CPU); // warm-up: JIT, upstream connections
    const { r: res, cpu } = await withCpu(r.tcp, () => load(url, 64, DURATION, LOAD_CPU));
    const reqs = res.rps * DURATION;
    add('http', r.name, { round, value: res.rps, cpuPct: (cpu / DURATION) * 100, perCpu: (cpu * 1e6) / reqs, p50: res.p50, p99: res.p99, errors: res.errors + res.non2xx });
    process.stdout.write(`  ${tag} http: ${res.rps.toFixed(0)} req/s, p50 ${res.p50} ms, p99 ${res.p99} ms, ${((cpu * 1e6) / reqs).toFixed(1)} µs proxy CPU/req, errors ${res.errors + res.non2xx}\n`);
  } catch (err) { note(`${tag} http: ${(err as Error).message}`); }
  if (TESTS.has('bulk')) try {
    await runLoad('bulk', { proxy: r.bulk, origins: o.sink, streams: 8, bytes: 64 << 20 }, bulkTimeout(64 << 20)); // warm-up
    for (const streams of [1, 8] as const) {
      const { r: res, cpu, wall } = await withCpu(r.tcp, () => runLoad<BulkResult>('bulk', { proxy: r.bulk, origins: o.sink, streams, bytes: BULK_BYTES }, bulkTimeout(BULK_BYTES)));
      if (!res.complete) note(`${tag} bulk ×${streams}: the sinks got ${res.bytes} of ${res.sent} bytes`);
      add(streams === 1 ? 'bulk1' : 'bulk8', r.name, { round, value: res.mbps, cpuPct: (cpu / wall) * 100, perCpu: res.bytes / 1e6 / cpu });
      process.stdout.write(`  ${tag} bulk ×${streams}: ${res.mbps.toFixed(0)} MB/s, ${(res.bytes / 1e6 / cpu).toFixed(0)} MB per proxy CPU-s\n`);
    }
  } catch (err) { note(`${tag} bulk: ${(err as Error).message}`); }
  if (TESTS.has('udp') && r.udp && r.udpPort !== null && spec.udpName) {
    try {
      const { r: res, cpu } = await withCpu(r.udp, () => runLoad<UdpResult>('udp', { proxy: r.udpPort, origin: o.udp, ...UDP, warmup: 1, seconds: UDP_DURATION }, (UDP_DURATION + 20) * 1000));
      if (res.replies === 0) throw new Error(`no datagram came back in ${UDP_DURATION} s (${res.lost} lost)`);
      add('udp', spec.udpName, { round, value: res.rate, cpuPct: (cpu / (UDP_DURATION + 1)) * 100, perCpu: (cpu * 1e6) / (res.rate * (UDP_DURATION + 1)), lost: res.lost });
      process.stdout.write(`  ${tag} udp (${spec.udpName}): ${res.rate.toFixed(0)} datagrams/s, lost ${res.lost}\n`);
    } catch (err) { note(`${tag} udp: ${(err as Error).message}`); }
  }
}

interface CapResult { seconds: number; originConnections: number; up: number[]; down: number[] }
interface RefuseResult { heldAtOrigin: number; ms: number[]; notRefused: number; openErrors: number; reachedOrigin: number; heldStillOpen: number }
interface Budgets {
  rss?: { fresh: number; before: number; samples: number[]; after: number; mbps: number };
  cap?: CapResult & { connectionCapSet: boolean };
  refuse?: RefuseResult;
}

/** sluice alone: the 100 Mbps cap over 8 connections, refusal at a 10-connection cap, memory over a long bulk run. */
async function budgets(o: L4Origins): Promise<Budgets> {
  const out: Budgets = {};
  const s = await startSluice([...NODE_FLAGS, ...SLUICE_FLAGS], PROXY_CPU, ['--shutdown-grace', '1']);
  children.add(s.proc);
  try {
    const [fastPort, capPort] = [await freePort(), await freePort()];
    const { tenantId, originId } = await sluiceTenant(s.api);
    const before = notes.length;
    await sluiceProxy(s.api, tenantId, originId, { name: 'fast', bandwidth: 1000, concurrent: 100, budget: FAST_BUDGET, listeners: [{ protocol: 'tcp', port: fastPort, origins: o.sink, healthCheck: false }] }, notes);
    const capNotes = notes.length;
    await sluiceProxy(s.api, tenantId, originId, { name: 'capped', bandwidth: CAP_MBPS, concurrent: 2, budget: { connectionCap: CAP_CONNECTIONS }, listeners: [{ protocol: 'tcp', port: capPort, origins: o.sink, healthCheck: false }] }, notes);
    const connectionCapSet = notes.length === capNotes;
    for (const n of notes.slice(before)) process.stdout.write(`  note: ${n}\n`);

    const pid = s.proc.pid!;
    const fresh = rssMiB(pid);
    await runLoad('bulk', { proxy: fastPort, origins: o.sink, streams: 8, seconds: Q ? 2 : 5 }, 60_000);
    const rssBefore = rssMiB(pid);
    const during: number[] = [];
    const tick = setInterval(() => during.push(rssMiB(pid)), 5000);
    let long: BulkResult;
    try { long = await runLoad<BulkResult>('bulk', { proxy: fastPort, origins: o.sink, streams: 8, seconds: RSS_DURATION }, (RSS_DURATION + 60) * 1000); } finally { clearInterval(tick); }
    out.rss = { fresh, before: rssBefore, samples: during, after: rssMiB(pid), mbps: long.mbps };
    process.stdout.write(`  sluice RSS: fresh ${fresh.toFixed(1)} MiB, before ${rssBefore.toFixed(1)} MiB, after ${RSS_DURATION} s of bulk (${long.mbps.toFixed(0)} MB/s) ${out.rss.after.toFixed(1)} MiB\n`);

    const cap = await runLoad<CapResult>('cap', { proxy: capPort, origins: o.sink, streams: 8, warmup: 1, seconds: CAP_DURATION }, (CAP_DURATION + 30) * 1000);
    out.cap = { ...cap, connectionCapSet };
    process.stdout.write(`  sluice cap ${CAP_MBPS} Mbps, 8 connections: up ${sum(cap.up).toFixed(2)} MB/s, down ${sum(cap.down).toFixed(2)} MB/s\n`);

    if (connectionCapSet) {
      out.refuse = await runLoad<RefuseResult>('refuse', { proxy: capPort, origins: o.sink, hold: CAP_CONNECTIONS, attempts: ATTEMPTS }, 60_000 + ATTEMPTS * 2500);
      const ms = out.refuse.ms;
      process.stdout.write(`  sluice refusal at a ${CAP_CONNECTIONS}-connection cap: ${ms.length} refused, p50 ${pct(ms, 50).toFixed(2)} ms, p99 ${pct(ms, 99).toFixed(2)} ms, not refused ${out.refuse.notRefused}\n`);
    } else {
      note(`refusal at the cap not measured: the connection cap could not be set to ${CAP_CONNECTIONS}`);
    }
  } catch (err) {
    note(`budgets: ${(err as Error).message}`);
  } finally {
    await stop(s.proc);
    children.delete(s.proc);
  }
  return out;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function roundRatios(s: Sample[] | undefined, ref: Sample[] | undefined): number[] {
  if (!s || !ref) return [];
  return s.flatMap((x) => { const y = ref.find((r) => r.round === x.round); return y ? [x.value / y.value] : []; });
}
function ratioCell(s: Sample[] | undefined, ref: Sample[] | undefined, self: boolean): string {
  if (self) return '1.00';
  const r = roundRatios(s, ref);
  return r.length ? `${median(r).toFixed(2)} (${r.map((x) => x.toFixed(2)).join(', ')})` : '–';
}

const fmt = (n: number) => (Number.isNaN(n) ? '–' : n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : n >= 100 ? n.toFixed(0) : n.toFixed(1));
const range = (s: Sample[]) => { const v = s.map((x) => x.value); return `**${fmt(median(v))}** (${fmt(Math.min(...v))}–${fmt(Math.max(...v))})`; };
const med = (s: Sample[], f: (x: Sample) => number | undefined) => median(s.map((x) => f(x) ?? NaN));

function table(m: Metric, nodeRef: string): string[] {
  const rows: string[] = [];
  const node = samples[m].get(nodeRef); const nginx = samples[m].get(NGINX);
  for (const [name, s] of samples[m]) {
    const ratios = `${ratioCell(s, node, name === nodeRef)} | ${ratioCell(s, nginx, name === NGINX)}`;
    if (m === 'http') rows.push(`| ${name} | ${range(s)} | ${ratios} | ${med(s, (x) => x.p50).toFixed(2)} / ${med(s, (x) => x.p99).toFixed(2)} | ${med(s, (x) => x.cpuPct).toFixed(0)} | ${med(s, (x) => x.perCpu).toFixed(1)} | ${sum(s.map((x) => x.errors ?? 0))} |`);
    else if (m === 'udp') rows.push(`| ${name} | ${range(s)} | ${ratios} | ${med(s, (x) => x.cpuPct).toFixed(0)} | ${med(s, (x) => x.perCpu).toFixed(1)} | ${sum(s.map((x) => x.lost ?? 0))} |`);
    else rows.push(`| ${name} | ${range(s)} | ${ratios} | ${med(s, (x) => x.cpuPct).toFixed(0)} | ${fmt(med(s, (x) => x.perCpu))} |`);
  }
  return rows;
}

function bars(b: Budgets): string[] {
  const out: string[] = [];
  const verdict = (ok: boolean | null) => (ok === null ? '**NOT MEASURED**' : ok ? '**PASS**' : '**MISS**');
  for (const [m, label] of [['http', 'req/s'], ['bulk1', 'bulk MB/s, 1 stream'], ['bulk8', 'bulk MB/s, 8 streams']] as const) {
    const sl = samples[m].get('sluice');
    const r = roundRatios(sl, samples[m].get(NODE_TCP));
    const n = roundRatios(sl, samples[m].get(NGINX));
    const nginxNote = n.length ? `; ÷ nginx stream ${median(n).toFixed(2)} (moonshot ≥ 0.8: ${median(n) >= 0.8 ? 'reached' : 'not reached'})` : '';
    // Throughput on a shared VM moves with the neighbours; the proxy's own CPU per unit of
    // work moves less, so it is shown beside as what the ratio is made of.
    const nd = samples[m].get(NODE_TCP);
    const cost = sl && nd ? (m === 'http'
      ? `; proxy CPU per request ${med(sl, (x) => x.perCpu).toFixed(1)} µs vs ${med(nd, (x) => x.perCpu).toFixed(1)} µs`
      : `; MB per proxy CPU-s ${fmt(med(sl, (x) => x.perCpu))} vs ${fmt(med(nd, (x) => x.perCpu))}`) : '';
    out.push(`- ${verdict(r.length ? median(r) >= 1 : null)} sluice ${label} ÷ bare Node net proxy ≥ 1.0: ${r.length ? `${median(r).toFixed(2)} (rounds ${r.map((x) => x.toFixed(2)).join(', ')})` : '–'}${nginxNote}${cost}`);
  }
  const target = (CAP_MBPS * 125_000) / 1e6;
  if (b.cap) {
    for (const [dir, xs] of [['client→origin', b.cap.up], ['origin→client', b.cap.down]] as const) {
      const agg = sum(xs);
      const share = agg / xs.length;
      const worst = Math.max(...xs.map((x) => Math.abs(x - share) / share));
      const aggOk = Math.abs(agg - target) / target <= 0.05;
      out.push(`- ${verdict(aggOk && worst <= 0.25 && xs.length === 8)} ${CAP_MBPS} Mbps cap, 8 connections, ${dir}: ${agg.toFixed(2)} MB/s (target ${target} ± 5 %: ${(((agg - target) / target) * 100).toFixed(1)} %), connections ${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)} MB/s, worst ${(worst * 100).toFixed(0)} % from an equal share (bar 25 %)`);
    }
  } else out.push(`- ${verdict(null)} ${CAP_MBPS} Mbps cap over 8 connections`);
  if (b.refuse) {
    const p99 = pct(b.refuse.ms, 99);
    out.push(`- ${verdict(p99 < 10 && b.refuse.notRefused === 0 && b.refuse.ms.length > 0)} refusal at the cap < 10 ms at p99: p99 ${p99.toFixed(2)} ms over ${b.refuse.ms.length} refusals (${b.refuse.notRefused} left waiting)`);
  } else out.push(`- ${verdict(null)} refusal at the cap`);
  if (b.rss) {
    // "No growth": after the run within 10 % (at least 10 MiB, V8's heap moves by that much) of before it.
    const allowed = Math.max(10, b.rss.before * 0.1);
    out.push(`- ${verdict(b.rss.after - b.rss.before <= allowed)} no memory growth over ${RSS_DURATION} s of bulk: RSS ${b.rss.before.toFixed(1)} → ${b.rss.after.toFixed(1)} MiB (allowed +${allowed.toFixed(0)} MiB)`);
  } else out.push(`- ${verdict(null)} memory over a long bulk run`);
  return out;
}

function render(kind: string, b: Budgets, skipped: string[]): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const capRows: string[] = [];
  if (b.cap) {
    const target = (CAP_MBPS * 125_000) / 1e6;
    for (const [dir, xs] of [['client→origin', b.cap.up], ['origin→client', b.cap.down]] as const) {
      const share = sum(xs) / xs.length;
      capRows.push(`| ${dir} | ${sum(xs).toFixed(2)} | ${target} | ${(((sum(xs) - target) / target) * 100).toFixed(1)} % | ${xs.map((x) => x.toFixed(2)).join(' / ')} | ${(Math.min(...xs) / share * 100).toFixed(0)}–${(Math.max(...xs) / share * 100).toFixed(0)} % |`);
    }
  }
  const rf = b.refuse;
  return [
    `## L4 proxy benchmark (${new Date().toISOString().slice(0, 10)})`,
    '',
    `${cpus().length} × ${cpu}; loopback; proxies pinned to CPU ${PROXY_CPU}, load, origins and wrk to CPU ${LOAD_CPU}; every proxy single process; Node proxies run with ${NODE_FLAGS.join(' ')}. ${ROUNDS} interleaved round(s) (A B C … then … C B A), median (min–max); ratios are per round against the same round's run, median (each round). HTTP origins: ${kind}.`,
    '',
    `### Keep-alive HTTP through the L4 proxy (wrk -t1 -c64 -d${DURATION}s --latency, ~100-byte answers, round robin per connection over 3 origins)`,
    '',
    '| proxy | req/s | ÷ node net | ÷ nginx stream | p50 / p99 ms | proxy CPU % | µs proxy CPU / req | errors |',
    '|---|---|---|---|---|---:|---:|---:|',
    ...table('http', NODE_TCP),
    '',
    `### Bulk TCP, sender → proxy → sink (${BULK_BYTES / 2 ** 20} MiB per run, MB/s = 10⁶ B/s at the sinks, first byte to last EOF)`,
    '',
    '| proxy | 1 stream MB/s | ÷ node net | ÷ nginx stream | proxy CPU % | MB per proxy CPU-s |',
    '|---|---|---|---|---:|---:|',
    ...table('bulk1', NODE_TCP),
    '',
    '| proxy | 8 streams MB/s | ÷ node net | ÷ nginx stream | proxy CPU % | MB per proxy CPU-s |',
    '|---|---|---|---|---:|---:|',
    ...table('bulk8', NODE_TCP),
    '',
    `### UDP request/response (${UDP.sockets} client sockets × ${UDP.window} outstanding, ${UDP.size}-byte datagrams, echo origin, ${UDP_DURATION} s)`,
    '',
    '| relay | datagrams/s | ÷ node dgram relay | ÷ nginx stream | proxy CPU % | µs proxy CPU / datagram | lost |',
    '|---|---|---|---|---:|---:|---:|',
    ...table('udp', NODE_UDP),
    '',
    `### sluice budgets (one sluice process; a proxy of bandwidth ${CAP_MBPS} with its connection cap set to ${CAP_CONNECTIONS})`,
    '',
    `8 connections pushing bulk both ways for ${CAP_DURATION} s after 1 s: rates each direction at the receiving end (origin for client→origin, client for origin→client).`,
    '',
    '| direction | aggregate MB/s | target | off by | each connection MB/s | range ÷ equal share |',
    '|---|---:|---:|---:|---|---:|',
    ...(capRows.length ? capRows : ['| – | not measured | | | | |']),
    '',
    rf
      ? `Refusal: ${CAP_CONNECTIONS} connections held (${rf.heldAtOrigin} at the origins), then ${ATTEMPTS} attempts one after another, each timed from connect() to the close or reset: p50 ${pct(rf.ms, 50).toFixed(2)} ms, p99 ${pct(rf.ms, 99).toFixed(2)} ms, max ${Math.max(...rf.ms).toFixed(2)} ms; ${rf.ms.length} refused, ${rf.notRefused} still open after 2 s, ${rf.openErrors} failed to connect, ${rf.reachedOrigin} reached an origin, ${rf.heldStillOpen} of the held connections still open after.`
      : 'Refusal at the cap: not measured.',
    '',
    b.rss
      ? `Memory: sluice RSS ${b.rss.fresh.toFixed(1)} MiB once configured, ${b.rss.before.toFixed(1)} MiB after a warm-up bulk run, then every 5 s of ${RSS_DURATION} s of 8-stream bulk (${b.rss.mbps.toFixed(0)} MB/s): ${b.rss.samples.map((x) => x.toFixed(0)).join(', ')} MiB; ${b.rss.after.toFixed(1)} MiB after.`
      : 'Memory: not measured.',
    '',
    '### Bars (issue 15)',
    '',
    ...bars(b),
    '',
    ...(skipped.length || notes.length ? ['Notes:', ...skipped.map((x) => `- skipped ${x}`), ...notes.map((x) => `- ${x}`), ''] : []),
  ].join('\n');
}

async function main(): Promise<void> {
  if (!has('wrk')) process.stdout.write('wrk not found: using autocannon (a slower client; install wrk with `apt-get install wrk`)\n');
  if (!has('taskset')) process.stdout.write('taskset not found: processes are not pinned\n');
  const { specs: all, skipped } = l4Specs(notes, SLUICE_FLAGS);
  for (const s of skipped) process.stdout.write(`skipped ${s}\n`);
  const only = values.only?.split(',');
  const specs = all.filter((s) => !only || only.includes(s.id));
  const backends = await startBackends();
  for (const p of backends.procs) children.add(p);
  const o: L4Origins = { http: backends.ports, sink: [await freePort(), await freePort(), await freePort()], udp: await freePort() };
  process.stdout.write(`HTTP origins: ${backends.kind}; ${ROUNDS} round(s), wrk ${DURATION} s, bulk ${BULK_BYTES / 2 ** 20} MiB, UDP ${UDP_DURATION} s${Q ? ' (quick)' : ''}\n`);
  const running = new Set<L4Running>();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const r of running) { r.tcp.kill('SIGKILL'); r.udp?.kill('SIGKILL'); }
      for (const c of children) c.kill('SIGKILL');
      process.exit(130);
    });
  }
  let b: Budgets = {};
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 === 1 ? specs : [...specs].reverse();
      for (const spec of order) {
        let r: L4Running;
        try { r = await spec.start(o); } catch (err) { note(`round ${round}: ${spec.name} failed to start: ${(err as Error).message}`); continue; }
        running.add(r);
        try { await measure(r, spec, o, round); } finally { await r.stop(); running.delete(r); }
      }
    }
    if (!values['skip-budgets'] && (!only || only.includes('sluice'))) b = await budgets(o);
  } finally {
    await Promise.all(backends.procs.map((p) => stop(p)));
  }
  const report = render(backends.kind, b, skipped);
  process.stdout.write(`\n${report}`);
  const file = writeResults('l4-', report, 'l4-latest.md');
  process.stdout.write(`\nwritten to ${file}\n`);
}

main().catch((err: unknown) => { console.error(err); process.exitCode = 1; });
