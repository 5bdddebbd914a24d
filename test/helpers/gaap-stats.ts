import assert from 'node:assert/strict';
import type net from 'node:net';
import gaapModule from 'tencentcloud-sdk-nodejs/tencentcloud/services/gaap/v20180529/gaap_client.js';
import { connect, readN } from './l4.js';

// What the GAAP statistics tests share: the SDK client of a tenant, GAAP's time format, and
// traffic of a known size.

// The official SDK client is pointed at sluice; it honours http_proxy, so that goes.
for (const v of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete process.env[v];

type Call = (req: Record<string, unknown>) => Promise<Record<string, any>>;
export type Gaap = Record<string, Call>;
const { Client } = gaapModule as unknown as { Client: new (cfg: unknown) => Gaap };

/** GAAP's time format, in its time zone (UTC+8). */
export const gaapTime = (ms: number): string => new Date(ms + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');

type Api = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

export async function clientFor(gw: { api: Api; adminUrl: string }, tenantId: string): Promise<Gaap> {
  const k = await gw.api('POST', `/v1/tenants/${tenantId}/keys`);
  assert.equal(k.status, 201, JSON.stringify(k.body));
  return new Client({
    credential: { secretId: k.body.secretId, secretKey: k.body.secretKey }, region: 'ap-guangzhou',
    profile: { httpProfile: { protocol: 'http://', endpoint: gw.adminUrl.replace('http://', ''), reqTimeout: 10 } },
  });
}

/** Opens `n` connections, sends `size` bytes on each, reads the echo back, and holds them all open. */
export async function tcpTraffic(host: string, port: number, n: number, size: number, greeting: number): Promise<net.Socket[]> {
  const socks = await Promise.all(Array.from({ length: n }, () => connect(host, port)));
  await Promise.all(socks.map(async (s) => {
    const got = readN(s, size + greeting);
    s.write(Buffer.alloc(size, 1));
    await got;
  }));
  return socks;
}

