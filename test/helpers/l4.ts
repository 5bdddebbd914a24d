import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestGateway, type TestGateway } from './gateway.js';
import type { SluiceOptions } from '../../src/app.js';

/**
 * A gateway whose L4 region hands proxies addresses of their own (127.0.<n>.0/28: distinct
 * loopback addresses stand for proxy addresses), and calls to build L4 objects through the
 * operator API.
 */
export interface L4Gateway extends TestGateway {
  region: string;
  /** The region's IPv4 pool (a test may put it back with more addresses). */
  pool: string;
  proxy(extra?: Record<string, unknown>): Promise<any>;
  listener(proxyId: string, body: Record<string, unknown>): Promise<any>;
  origins(addresses: string[]): Promise<string[]>;
  bind(listenerId: string, bindings: Record<string, unknown>[]): Promise<void>;
  /** Waits for the proxy's status (the plane reports what it applied). */
  until(proxyId: string, status: string): Promise<any>;
  /** Waits until this process's plane has brought its sockets to the store's revision. */
  applied(): Promise<void>;
}

let net3 = 40;

export async function startL4Gateway(extra: Partial<SluiceOptions> = {}): Promise<L4Gateway> {
  const gw = await startTestGateway(extra);
  const region = extra.defaultRegion ?? 'default';
  const pool = `127.0.${net3++}.0/28`;
  const put = await gw.api('PUT', `/v1/l4-regions/${region}`, { access: true, origin: true, bandwidths: [10, 20, 50, 100, 200, 500, 1000], concurrencies: [2, 5, 10], pool: [pool] });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const applied = async () => {
    const l4 = gw.sluice.l4!.plane!;
    const want = await gw.sluice.store.revision();
    for (let i = 0; i < 400 && l4.snapshot.revision < want; i++) await new Promise((r) => setTimeout(r, 5));
    await l4.settled();
  };
  const until = async (id: string, status: string) => {
    let last: any;
    for (let i = 0; i < 400; i++) {
      last = await gw.api('GET', `/v1/proxies/${id}`);
      if (last.status === 200 && last.body.status === status) return last.body;
      if (status === 'gone' && last.status === 404) return null;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.fail(`proxy ${id} did not reach ${status}: ${JSON.stringify(last.body)}`);
  };
  // An address is one origin per tenant: later calls reuse it.
  const originIds = new Map<string, string>();
  return {
    ...gw, region, pool, applied, until,
    async proxy(body = {}) {
      const r = await gw.api('POST', '/v1/proxies', { tenantId: gw.tenantId, name: 'p', accessRegion: region, originRegion: region, bandwidth: 1000, concurrent: 10, ...body });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return until(r.body.id, 'RUNNING');
    },
    async listener(proxyId, body) {
      const r = await gw.api('POST', '/v1/listeners', { proxyId, protocol: 'tcp', name: 'l', scheduler: 'rr', ...body });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      await applied();
      return r.body.items[0];
    },
    async origins(addresses) {
      const fresh = addresses.filter((a) => !originIds.has(a));
      if (fresh.length > 0) {
        const r = await gw.api('POST', '/v1/origins', { tenantId: gw.tenantId, name: 'o', addresses: fresh });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        for (const o of r.body.items) originIds.set(o.address, o.id);
      }
      return addresses.map((a) => originIds.get(a)!);
    },
    async bind(listenerId, bindings) {
      const r = await gw.api('PUT', `/v1/listeners/${listenerId}/bindings`, { bindings });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await applied();
    },
  };
}

/** A port free on `host` right now (L4 listener ports are chosen by the client, never 0). */
export async function freePort(host: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A TCP origin that answers each connection with its name, then echoes; it keeps what it read. */
export interface TcpOrigin { name: string; port: number; server: net.Server; received: Buffer[]; sockets: Set<net.Socket>; close(): Promise<void> }

export async function tcpOrigin(name: string, onSocket?: (s: net.Socket) => void, host = '127.0.0.1', port = 0): Promise<TcpOrigin> {
  const received: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    if (onSocket) { onSocket(s); return; }
    s.write(`${name}\n`);
    s.on('data', (d) => { received.push(d); s.write(d); });
    s.on('end', () => s.end());
  });
  await new Promise<void>((r) => server.listen(port, host, r));
  return {
    name, server, received, sockets, port: (server.address() as net.AddressInfo).port,
    async close() { for (const s of sockets) s.destroy(); await new Promise((r) => server.close(r)); },
  };
}

/** Connects, resolving with the socket once connected (rejects on error). */
export function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, allowHalfOpen: true });
    s.once('connect', () => { s.off('error', reject); resolve(s); });
    s.once('error', reject);
  });
}

/** Everything the socket sends until it ends, or how it failed. */
export function readAll(s: net.Socket, timeoutMs = 10_000): Promise<{ data: Buffer; error: string | null }> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const timer = setTimeout(() => { s.destroy(); resolve({ data: Buffer.concat(parts), error: 'timeout' }); }, timeoutMs);
    s.on('data', (d) => parts.push(d));
    s.once('error', (e: NodeJS.ErrnoException) => { clearTimeout(timer); resolve({ data: Buffer.concat(parts), error: e.code ?? e.message }); });
    s.once('close', () => { clearTimeout(timer); resolve({ data: Buffer.concat(parts), error: null }); });
  });
}

/** Reads until `n` bytes have arrived. */
export function readN(s: net.Socket, n: number, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => { s.off('data', on); reject(new Error(`only ${got} of ${n} bytes`)); }, timeoutMs);
    const on = (d: Buffer) => {
      parts.push(d); got += d.length;
      if (got >= n) { clearTimeout(timer); s.off('data', on); resolve(Buffer.concat(parts)); }
    };
    s.on('data', on);
  });
}

/** The first line (name) an origin sent on a fresh connection through the proxy. */
export async function firstLine(host: string, port: number): Promise<string> {
  const s = await connect(host, port);
  const d = await new Promise<string>((resolve, reject) => {
    let buf = '';
    s.on('data', (x) => { buf += x.toString(); const i = buf.indexOf('\n'); if (i >= 0) resolve(buf.slice(0, i)); });
    s.once('error', reject);
    s.once('close', () => resolve(buf));
  });
  s.destroy();
  return d;
}
