// The L4 proxies `npm run bench:l4` compares: sluice's L4 plane, a bare Node net proxy (with a
// bare node:dgram relay for UDP), nginx stream and HAProxy in TCP mode. Each serves three
// services: HTTP (round robin over the three HTTP origins), bulk (over the three sink ports)
// and, where it can, UDP (to the echo origin).
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, has, launch, shippedNodeFlags, sleep, stop, waitPort } from './lib.js';
import { PROXY_CPU } from './proxies.js';
import { startSluice, type Api } from './sluice.js';

/** Where the origins listen (the load tool starts the sinks and the echo origin per run). */
export interface L4Origins { http: number[]; sink: number[]; udp: number }

export interface L4Running {
  name: string;
  /** The process carrying TCP, and the one carrying UDP (null: this peer has no UDP). */
  tcp: ChildProcess;
  udp: ChildProcess | null;
  http: number;
  bulk: number;
  udpPort: number | null;
  stop(): Promise<void>;
}

export interface L4Spec {
  /** For --only. */
  id: string;
  name: string;
  /** Its name in the UDP table, or null when it carries no UDP. */
  udpName: string | null;
  node: boolean;
  start(o: L4Origins): Promise<L4Running>;
}

/** V8 flags for every Node proxy here: the ones sluice's `npm start` sets. */
export const NODE_FLAGS = shippedNodeFlags();

/** Every port accepts, or the process is stopped and the start fails (at once if it exits). */
async function listening(proc: ChildProcess, ports: number[]): Promise<void> {
  const exited = new Promise<never>((_, reject) => proc.once('exit', (code, sig) => reject(new Error(`exited (${sig ?? code}) before listening`))));
  exited.catch(() => {});
  try {
    for (const p of ports) await Promise.race([waitPort(p, 10_000), exited]);
  } catch (err) {
    await stop(proc, 1000);
    throw err;
  }
}

const nodeNet: L4Spec = {
  id: 'node', name: 'node net (pipe)', udpName: 'node dgram relay', node: true,
  async start(o) {
    const [http, bulk, udpPort] = [await freePort(), await freePort(), await freePort()];
    const tcp = launch(process.execPath, [...NODE_FLAGS, 'bench/peers/net-proxy.mjs', `${http}=${o.http.join(',')}`, `${bulk}=${o.sink.join(',')}`], PROXY_CPU);
    await listening(tcp, [http, bulk]);
    const udp = launch(process.execPath, [...NODE_FLAGS, 'bench/peers/udp-relay.mjs', `${udpPort}=${o.udp}`], PROXY_CPU);
    await sleep(300);
    return { name: this.name, tcp, udp, http, bulk, udpPort, stop: async () => { await stop(tcp); await stop(udp); } };
  },
};

/**
 * How this nginx gets its stream module: '' when built in, a load_module line when it is a
 * dynamic module present on disk (Debian: libnginx-mod-stream), null when it has none.
 */
function streamModule(): string | null {
  const v = spawnSync('nginx', ['-V']).stderr.toString();
  if (/--with-stream(\s|$)/.test(v)) return '';
  if (!/--with-stream=dynamic/.test(v)) return null;
  const dir = /--modules-path=(\S+)/.exec(v)?.[1] ?? '/usr/lib/nginx/modules';
  const file = join(dir, 'ngx_stream_module.so');
  return existsSync(file) ? `load_module ${file};` : null;
}

const nginxStream: L4Spec = {
  id: 'nginx', name: 'nginx stream', udpName: 'nginx stream', node: false,
  async start(o) {
    const [http, bulk, udpPort] = [await freePort(), await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-nginx-stream-'));
    // max_fails=0: the sinks listen only during a run, and a refused connect (the readiness
    // probe) must not take them out of the upstream for the next 10 s.
    const upstream = (name: string, ports: number[]) => `upstream ${name} { ${ports.map((p) => `server 127.0.0.1:${p} max_fails=0;`).join(' ')} }`;
    // proxy_half_close gives it the half-close sluice has.
    writeFileSync(join(dir, 'nginx.conf'), `${streamModule()}
worker_processes 1; daemon off; master_process off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 8192; }
stream {
  ${upstream('http', o.http)} ${upstream('bulk', o.sink)} ${upstream('udp', [o.udp])}
  server { listen 127.0.0.1:${http}; proxy_pass http; proxy_half_close on; }
  server { listen 127.0.0.1:${bulk}; proxy_pass bulk; proxy_half_close on; }
  server { listen 127.0.0.1:${udpPort} udp; proxy_pass udp; proxy_timeout 120s; }
}`);
    const tcp = launch('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], PROXY_CPU);
    await listening(tcp, [http, bulk]);
    return { name: this.name, tcp, udp: tcp, http, bulk, udpPort, stop: () => stop(tcp) };
  },
};

const haproxy: L4Spec = {
  id: 'haproxy', name: 'haproxy tcp', udpName: null, node: false,
  async start(o) {
    const [http, bulk] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-haproxy-tcp-'));
    const service = (name: string, port: number, ports: number[]) => `frontend ${name}
  bind 127.0.0.1:${port}
  default_backend ${name}
backend ${name}
  balance roundrobin
${ports.map((p, i) => `  server s${i} 127.0.0.1:${p}`).join('\n')}
`;
    writeFileSync(join(dir, 'haproxy.cfg'), `global
  nbthread 1
  # Enough for the bench; HAProxy wants twice this in file descriptors.
  maxconn 4096
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
${service('http', http, o.http)}${service('bulk', bulk, o.sink)}`);
    const tcp = launch('haproxy', ['-f', join(dir, 'haproxy.cfg'), '-db'], PROXY_CPU);
    await listening(tcp, [http, bulk]);
    return { name: this.name, tcp, udp: null, http, bulk, udpPort: null, stop: () => stop(tcp) };
  },
};

export interface SluiceListenerPlan { protocol: 'tcp' | 'udp'; port: number; origins: number[]; healthCheck: boolean }
export interface SluiceProxyPlan {
  name: string;
  bandwidth: number;
  concurrent: number;
  /** Operator overrides (PATCH /v1/proxies/:id); refused ones are reported in `notes`. */
  budget?: { byteRate?: number; connectionCap?: number };
  listeners: SluiceListenerPlan[];
}

async function untilStatus(api: Api, id: string, want: string, ms = 15_000): Promise<Record<string, any>> {
  const until = Date.now() + ms;
  let p: Record<string, any> = {};
  while (Date.now() < until) {
    p = await api('GET', `/v1/proxies/${id}`);
    if (p.status === want) return p;
    await sleep(100);
  }
  throw new Error(`proxy ${id} is ${p.status}, not ${want}, after ${ms} ms`);
}

/**
 * One sluice proxy in the node's default region through the operator API, its listeners bound
 * to origin 127.0.0.1 on the given ports; resolves once every TCP listener accepts.
 */
export async function sluiceProxy(api: Api, tenantId: string, originId: string, plan: SluiceProxyPlan, notes: string[]): Promise<{ id: string; address: string; unbound: string[] }> {
  const created = await api<{ id: string }>('POST', '/v1/proxies', {
    tenantId, name: plan.name, accessRegion: 'default', originRegion: 'default', bandwidth: plan.bandwidth, concurrent: plan.concurrent,
  });
  let p = await untilStatus(api, created.id, 'RUNNING');
  if (plan.budget) {
    try {
      await api('PATCH', `/v1/proxies/${p.id}`, plan.budget);
      p = await untilStatus(api, p.id, 'RUNNING');
    } catch (err) {
      notes.push(`sluice proxy ${plan.name}: the operator budget ${JSON.stringify(plan.budget)} was refused (${(err as Error).message.slice(0, 200)}); it runs on bandwidth ${plan.bandwidth} / concurrent ${plan.concurrent}`);
    }
  }
  const ids: string[] = [];
  for (const l of plan.listeners) {
    const { items } = await api<{ items: { id: string }[] }>('POST', '/v1/listeners', {
      proxyId: p.id, protocol: l.protocol, ports: [l.port], name: `${plan.name}-${l.protocol}-${l.port}`, scheduler: 'rr', healthCheck: l.healthCheck,
      ...(l.healthCheck ? { delayLoop: 5, connectTimeout: 2 } : {}),
    });
    ids.push(items[0]!.id);
    await api('PUT', `/v1/listeners/${items[0]!.id}/bindings`, { bindings: l.origins.map((port) => ({ originId, port })) });
    if (l.protocol === 'tcp') {
      try {
        await waitPort(l.port, 10_000);
      } catch {
        const seen = await api('GET', `/v1/listeners/${items[0]!.id}`).catch(() => ({}));
        throw new Error(`sluice listener ${l.port} does not accept: ${JSON.stringify(seen).slice(0, 300)}`);
      }
    }
  }
  // A UDP listener cannot be probed from here without its origin: ask the data plane.
  const unbound: string[] = [];
  for (const [i, l] of plan.listeners.entries()) {
    if (l.protocol !== 'udp') continue;
    type Report = { bound?: boolean; error?: string | null } | null;
    let dp: Report = null;
    for (let t = 0; t < 30 && !dp?.bound; t++) {
      dp = (await api<{ dataPlane: Report }>('GET', `/v1/listeners/${ids[i]}`)).dataPlane;
      if (!dp?.bound) await sleep(100);
    }
    if (!dp?.bound) unbound.push(`UDP ${l.port}: ${dp?.error ?? 'not bound'}`);
  }
  return { id: p.id as string, address: p.address as string, unbound };
}

/** Tenant and the one origin every listener binds (127.0.0.1; the port is on the binding). */
export async function sluiceTenant(api: Api): Promise<{ tenantId: string; originId: string }> {
  const tenant = await api<{ id: string }>('POST', '/v1/tenants', { name: 'bench-l4' });
  const { items } = await api<{ items: { id: string }[] }>('POST', '/v1/origins', { tenantId: tenant.id, addresses: ['127.0.0.1'], name: 'loopback' });
  return { tenantId: tenant.id, originId: items[0]!.id };
}

/** Budgets on with caps far above the load: 10 GB/s per direction, a million connections. */
export const FAST_BUDGET = { byteRate: 10_000_000_000, connectionCap: 1_000_000 };

export function sluiceSpec(notes: string[], extraFlags: string[] = []): L4Spec {
  return {
    id: 'sluice', name: 'sluice', udpName: 'sluice', node: true,
    async start(o) {
      const s = await startSluice([...NODE_FLAGS, ...extraFlags], PROXY_CPU, ['--shutdown-grace', '1']);
      try {
        const [http, bulk, udpPort] = [await freePort(), await freePort(), await freePort()];
        const { tenantId, originId } = await sluiceTenant(s.api);
        const { unbound } = await sluiceProxy(s.api, tenantId, originId, {
          name: 'bench', bandwidth: 1000, concurrent: 100, budget: FAST_BUDGET,
          listeners: [
            // Probes on for HTTP, as a deployment would run; the sinks exist only during a run.
            { protocol: 'tcp', port: http, origins: o.http, healthCheck: true },
            { protocol: 'tcp', port: bulk, origins: o.sink, healthCheck: false },
            { protocol: 'udp', port: udpPort, origins: [o.udp], healthCheck: false },
          ],
        }, notes);
        // Said once, not every round.
        if (unbound.length && !notes.some((n) => n.startsWith('sluice UDP not measured'))) notes.push(`sluice UDP not measured: the listener is not served (${unbound.join('; ')})`);
        return { name: 'sluice', tcp: s.proc, udp: unbound.length ? null : s.proc, http, bulk, udpPort: unbound.length ? null : udpPort, stop: () => stop(s.proc) };
      } catch (err) {
        await stop(s.proc, 1000);
        throw err;
      }
    },
  };
}

/** Every peer this machine has, and a line for each one it lacks. */
export function l4Specs(notes: string[], sluiceFlags: string[] = []): { specs: L4Spec[]; skipped: string[] } {
  const skipped: string[] = [];
  const specs = [sluiceSpec(notes, sluiceFlags), nodeNet];
  if (!has('nginx')) skipped.push('nginx stream: nginx not found (install with `apt-get install nginx-light libnginx-mod-stream`)');
  else if (streamModule() === null) skipped.push('nginx stream: this nginx has no stream module (install `libnginx-mod-stream`)');
  else specs.push(nginxStream);
  if (has('haproxy')) specs.push(haproxy); else skipped.push('haproxy tcp: haproxy not found (install with `apt-get install haproxy`)');
  return { specs, skipped };
}
