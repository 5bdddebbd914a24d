import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, has, launch, waitPort } from './lib.js';
import { startSluice } from './sluice.js';

export const PROXY_CPU = 0;
export const LOAD_CPU = 1;

/** A proxy under test, running on PROXY_CPU. */
export interface Running { name: string; port: number; proc: ChildProcess; node: boolean }

export interface ProxySpec {
  name: string;
  node: boolean;
  start(backends: number[], nodeFlags: string[]): Promise<Running>;
}

const BODY = 'x'.repeat(100);

/** Three backends on LOAD_CPU: nginx when installed, else a Node server each. */
export async function startBackends(): Promise<{ ports: number[]; kind: string; procs: ChildProcess[] }> {
  const ports = [await freePort(), await freePort(), await freePort()];
  if (has('nginx')) {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-nginx-'));
    const servers = ports.map((p) => `server { listen 127.0.0.1:${p}; keepalive_requests 1000000; location / { default_type text/plain; return 200 '${BODY}'; } }`).join('\n');
    writeFileSync(join(dir, 'nginx.conf'), `worker_processes 1; daemon off; master_process off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 4096; }
http { access_log off; ${servers} }`);
    const proc = launch('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], 1);
    for (const p of ports) await waitPort(p);
    return { ports, kind: 'nginx (1 worker)', procs: [proc] };
  }
  const procs = ports.map((p) => launch(process.execPath, ['bench/peers/node-backend.mjs', String(p)], 1));
  for (const p of ports) await waitPort(p);
  return { ports, kind: 'Node node:http', procs };
}

/** A Node proxy in `file`, started with `args(port, backends)` (by default the port, then each backend's). */
function nodePeer(name: string, file: string, args = (port: number, backends: number[]): string[] => [String(port), ...backends.map(String)]): ProxySpec {
  return {
    name, node: true,
    async start(backends, flags) {
      const port = await freePort();
      const proc = launch(process.execPath, [...flags, file, ...args(port, backends)], PROXY_CPU);
      await waitPort(port);
      return { name, port, proc, node: true };
    },
  };
}

/** Extra `sluice start` flags for a run, e.g. SLUICE_BENCH_ARGS='--access-log /tmp/a.log' to measure a feature's cost. */
function sluiceArgs(): string[] {
  return (process.env.SLUICE_BENCH_ARGS ?? '').split(' ').filter(Boolean);
}

const sluice: ProxySpec = {
  name: 'sluice', node: true,
  async start(backends, flags) {
    const { proc, proxyPort: port, api } = await startSluice(flags, PROXY_CPU, sluiceArgs());
    const tenant = await api<{ id: string }>('POST', '/v1/tenants', { name: 'bench' });
    // As the bar asks: routing, balancing, retries and health (active probes and passive checks) on.
    const up = await api<{ id: string }>('POST', '/v1/upstreams', {
      tenantId: tenant.id, name: 'bench', strategy: 'wrr', retries: 3, members: backends.map((p) => ({ host: '127.0.0.1', port: p })),
      healthCheck: { active: true, protocol: 'http', path: '/', interval: 5, timeout: 3, passive: true, tcpFailureThreshold: 3, httpFailureThreshold: 3, timeoutThreshold: 3 },
    });
    await api('POST', '/v1/routes', { upstreamId: up.id, paths: ['/'] });
    for (let i = 0; i < 100; i++) {
      const r = await fetch(`http://127.0.0.1:${port}/`).catch(() => null);
      if (r?.status === 200) { await r.text(); break; }
      await new Promise((res) => setTimeout(res, 50));
    }
    return { name: 'sluice', port, proc, node: true };
  },
};

const nginx: ProxySpec = {
  name: 'nginx', node: false,
  async start(backends) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-nginx-proxy-'));
    writeFileSync(join(dir, 'nginx.conf'), `worker_processes 1; daemon off; master_process off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 4096; }
http { access_log off;
  upstream b { ${backends.map((p) => `server 127.0.0.1:${p};`).join(' ')} keepalive 64; keepalive_requests 1000000; }
  server { listen 127.0.0.1:${port}; keepalive_requests 1000000;
    location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; } } }`);
    const proc = launch('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], PROXY_CPU);
    await waitPort(port);
    return { name: 'nginx', port, proc, node: false };
  },
};

const haproxy: ProxySpec = {
  name: 'haproxy', node: false,
  async start(backends) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-haproxy-'));
    writeFileSync(join(dir, 'haproxy.cfg'), `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend f
  bind 127.0.0.1:${port}
  default_backend b
backend b
  balance roundrobin
${backends.map((p, i) => `  server s${i} 127.0.0.1:${p}`).join('\n')}
`);
    const proc = launch('haproxy', ['-f', join(dir, 'haproxy.cfg'), '-db'], PROXY_CPU);
    await waitPort(port);
    return { name: 'haproxy', port, proc, node: false };
  },
};

/** No proxy: wrk straight at the first backend, the ceiling of this machine. */
const direct: ProxySpec = {
  name: 'direct', node: false,
  async start(backends) {
    // A stand-in process, so that the CPU column reads 0 rather than the backend's.
    const proc = launch('sleep', ['3600'], null);
    return { name: 'direct', port: backends[0]!, proc, node: false };
  },
};

export function proxySpecs(): ProxySpec[] {
  const specs = [
    direct,
    sluice,
    nodePeer('undici-bare', 'bench/peers/undici-proxy.mjs'),
    nodePeer('reply-from', 'bench/peers/reply-from.mjs'),
    nodePeer('http-proxy', 'bench/peers/http-proxy.mjs'),
    // A bare Node TCP pipe (the L4 bench's baseline): no HTTP at all, each client connection
    // piped to one backend. The floor under any proxy built on Node's sockets.
    nodePeer('node-pipe', 'bench/peers/net-proxy.mjs', (port, backends) => [`${port}=${backends.join(',')}`]),
  ];
  if (has('nginx')) specs.push(nginx);
  if (has('haproxy')) specs.push(haproxy);
  return specs;
}
