// npm run bench:instructions: CPU instructions per proxied request, counted by valgrind's
// callgrind, for sluice and its Node peers. The count does not move with what else a shared
// VM is doing, where req/s ratios swing by ±10 %; it still moves by a few per cent between
// runs (when V8 compiles and collects garbage differs), so compare proxies within one run.
// The window is long (10,000 requests of warm-up, 30,000 measured) because callgrind slows a
// process ~50 times: in a short one, what a proxy does per second rather than per request
// (health probes, heartbeats, a late JIT compile or a full GC) weighs 50 times too much, and
// moved sluice's figure by up to 20 % between runs of one build (4,000 + 10,000: 53,200 and
// 64,300; 10,000 + 30,000: 46,200). Every proxy gets the same window.
// It counts user-space work only: the kernel's share of each request (about a third here) is
// alike for every Node proxy, so req/s ratios are closer to 1 than instruction ratios.
// Loopback only; every process it starts is stopped.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { has, shippedNodeFlags, stop, wrapNode, writeResults } from './lib.js';
import { LOAD_CPU, proxySpecs, startBackends } from './proxies.js';

const { values } = parseArgs({ options: {
  warm: { type: 'string', default: '10000' },
  measure: { type: 'string', default: '30000' },
  only: { type: 'string', default: 'sluice,undici-bare,reply-from,http-proxy' },
  'node-flags': { type: 'string', default: shippedNodeFlags().join(' ') },
} });
const WARM = Number(values.warm);
const MEASURE = Number(values.measure);

if (!has('valgrind')) {
  process.stdout.write('valgrind not found: install it with `apt-get install valgrind`\n');
  process.exit(0);
}

/** Total instructions a proxy ran, start to exit, serving `count` requests. */
async function instructions(name: string, backends: number[], count: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-callgrind-'));
  const out = join(dir, 'callgrind.out');
  wrapNode(['valgrind', '--tool=callgrind', `--callgrind-out-file=${out}`], 900_000);
  const spec = proxySpecs().find((s) => s.name === name && s.node)!;
  const r = await spec.start(backends, values['node-flags'].split(' ').filter(Boolean));
  try {
    const pin = has('taskset') ? ['taskset', '-c', String(LOAD_CPU)] : [];
    const cmd = [...pin, process.execPath, 'bench/peers/fixed-load.mjs', `http://127.0.0.1:${r.port}/`, String(count), '8'];
    const res = JSON.parse(execFileSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: 900_000 })) as { sent: number; non200: number };
    if (res.non200 > 0) throw new Error(`${name}: ${res.non200} of ${res.sent} requests did not answer 200`);
  } finally {
    // Under valgrind, a graceful exit and the profile dump take a while.
    await stop(r.proc, 120_000);
  }
  const totals = /^totals:\s+(\d+)/m.exec(readFileSync(out, 'utf8'));
  if (!totals) throw new Error(`${name}: no callgrind totals in ${out}`);
  return Number(totals[1]);
}

const backends = await startBackends();
const rows: { name: string; perRequest: number }[] = [];
try {
  process.stdout.write(`backends: ${backends.kind}; each proxy runs twice under callgrind (${WARM} and ${WARM + MEASURE} requests, 8 connections); the difference / ${MEASURE} is one request's cost after warm-up\n`);
  for (const name of values.only.split(',')) {
    const a = await instructions(name, backends.ports, WARM);
    const b = await instructions(name, backends.ports, WARM + MEASURE);
    const perRequest = (b - a) / MEASURE;
    rows.push({ name, perRequest });
    process.stdout.write(`  ${name}: ${Math.round(perRequest).toLocaleString('en')} instructions per request\n`);
  }
} finally {
  for (const p of backends.procs) await stop(p);
}
const bare = rows.find((r) => r.name === 'undici-bare')?.perRequest;
const table = [
  `## Instructions per proxied request (callgrind, ${new Date().toISOString().slice(0, 10)})`, '',
  '| proxy | instructions / request | ÷ bare undici (lower is better) |', '|---|---:|---:|',
  ...rows.map((r) => `| ${r.name} | ${Math.round(r.perRequest).toLocaleString('en')} | ${bare ? (r.perRequest / bare).toFixed(2) : '–'} |`),
].join('\n');
process.stdout.write(`\n${table}\n`);
const file = writeResults('instructions-', `${table}\n`);
process.stdout.write(`written to ${file}\n`);
