import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';

const found = new Map<string, boolean>();
/** Whether a command is on PATH (asked once per command). */
/** The V8 flags sluice's `npm start` sets (read from package.json, so benches never drift from what ships). */
export function shippedNodeFlags(): string[] {
  const start: string = JSON.parse(readFileSync('package.json', 'utf8')).scripts.start;
  const words = start.split(/\s+/);
  return words.slice(1, words.indexOf('dist/cli.js')).filter((w) => w.startsWith('--'));
}

export function has(cmd: string): boolean {
  let v = found.get(cmd);
  if (v === undefined) { v = spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0; found.set(cmd, v); }
  return v;
}

const handedOut = new Set<number>();
/**
 * A port free on 127.0.0.1 now and never handed out before in this process: a port given to
 * a server that only listens during some runs (the L4 bench's sinks) is not given again.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) { handedOut.add(port); return port; }
  }
}

/** Put in front of every Node process the bench starts (bench/instructions.ts: valgrind). */
let nodeWrapper: string[] = [];
let startTimeoutMs = 15_000;
export function wrapNode(prefix: string[], timeoutMs: number): void {
  nodeWrapper = prefix;
  startTimeoutMs = timeoutMs;
}

export async function waitPort(port: number, ms = startTimeoutMs): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => { c.destroy(); resolve(true); });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${ms} ms`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The command line that runs `cmd` pinned to `cpu` (taskset execs it: the pid stays the command's). */
export function pinned(cmd: string, args: string[], cpu: number | null): [string, string[]] {
  return cpu !== null && has('taskset') ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];
}

/** Starts a command pinned to `cpu` (taskset, when present); its pid is the command's own. */
export function launch(cmd: string, args: string[], cpu: number | null, env: Record<string, string> = {}, stdoutFile?: string): ChildProcess {
  if (cmd === process.execPath && nodeWrapper.length > 0) [cmd, args] = [nodeWrapper[0]!, [...nodeWrapper.slice(1), cmd, ...args]];
  const [file, argv] = pinned(cmd, args, cpu);
  // stdoutFile: what V8's tracing flags (--trace-gc ...) print goes there, appended.
  const out = stdoutFile ? openSync(stdoutFile, 'a') : 'ignore';
  const child = spawn(file, argv, { stdio: ['ignore', out, 'pipe'], env: { ...process.env, ...env } });
  if (typeof out === 'number') closeSync(out); // the child has its own copy
  let err = '';
  child.stderr!.on('data', (d) => { err = (err + d).slice(-2000); });
  child.on('exit', (code) => { if (code && code !== 0 && !child.killed) process.stderr.write(`${cmd} exited ${code}: ${err}\n`); });
  return child;
}

export async function stop(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

/** CPU seconds (user + system, all threads) a process has used. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Established connections from any local port to one of `ports` (the proxy's upstream side). */
export function upstreamConnections(ports: number[]): Set<string> {
  const r = spawnSync('ss', ['-Htn', 'state', 'established']);
  const out = new Set<string>();
  for (const line of r.stdout.toString().split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4) continue;
    const [local, peer] = [cols[2]!, cols[3]!];
    const peerPort = Number(peer.slice(peer.lastIndexOf(':') + 1));
    if (ports.includes(peerPort)) out.add(`${local}->${peer}`);
  }
  return out;
}

export interface LoadResult { rps: number; p50: number; p99: number; errors: number; non2xx: number }

function ms(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v);
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
}

/** wrk (or autocannon when wrk is absent) against `url`, pinned to `cpu`; `during` runs halfway through. */
export async function load(url: string, connections: number, seconds: number, cpu: number | null, during?: () => void): Promise<LoadResult> {
  const wrk = has('wrk');
  const [file, argv] = wrk
    ? pinned('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url], cpu)
    : pinned(process.execPath, ['node_modules/autocannon/autocannon.js', '-c', String(connections), '-d', String(seconds), '-j', url], cpu);
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
  let text = '';
  child.stdout!.on('data', (d) => { text += d; });
  const half = during ? setTimeout(during, (seconds * 1000) / 2) : null;
  const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
  await new Promise((r) => child.once('exit', r));
  if (half) clearTimeout(half);
  clearTimeout(killer);
  if (!wrk) {
    const j = JSON.parse(text) as { requests: { average: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number };
    return { rps: j.requests.average, p50: j.latency.p50, p99: j.latency.p99, errors: j.errors, non2xx: j.non2xx };
  }
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const p50 = ms(/\s50%\s+(\S+)/.exec(text)?.[1] ?? '');
  const p99 = ms(/\s99%\s+(\S+)/.exec(text)?.[1] ?? '');
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  return { rps, p50, p99, errors, non2xx };
}

/** The nearest-rank `p`th percentile (NaN of none). */
export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Writes a report to bench/results/, named by `prefix` and the time, or exactly `name` when
 * given (a "latest" file each run overwrites); returns the path.
 */
export function writeResults(prefix: string, report: string, name?: string): string {
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${name ?? `${prefix}${new Date().toISOString().replace(/[:.]/g, '-')}.md`}`;
  writeFileSync(file, report);
  return file;
}

/** Resident set size of a process, in MiB (VmRSS from /proc/<pid>/status). */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
