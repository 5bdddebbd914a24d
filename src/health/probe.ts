import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { messageOf } from '../model/errors.js';

export interface ProbeSpec {
  protocol: 'tcp' | 'http' | 'https';
  host: string;
  port: number;
  timeoutMs: number;
  method: 'GET' | 'HEAD';
  path: string;
  headers: Record<string, string>;
  /** Host header and TLS server name. */
  hostHeader: string;
  servername: string | null;
  tlsVerify: boolean;
  /** Accepted statuses, as a 600-slot bitmap. */
  healthy: Uint8Array;
  /** Client certificate to present on HTTPS probes (two-way TLS), PEM. */
  clientCert: ClientCert | null;
  /** The User-Agent: it names the probing node, so a member (and its logs) can tell the nodes of a cluster apart. */
  userAgent: string;
}

/** A probe's User-Agent; `node`: the node's registry name. */
export function probeAgent(node: string | null): string {
  return node === null ? 'sluice-health-check' : `sluice-health-check (node ${node})`;
}

export interface ClientCert { cert: string; key: string }

export interface ProbeResult { ok: boolean; reason: string }

/**
 * One probe on a fresh connection (a pooled one would hide a member that stopped
 * accepting). Always settles within the timeout, and leaves no socket behind.
 */
export function probe(spec: ProbeSpec): Promise<ProbeResult> {
  const p = spec.protocol === 'tcp' ? probeTcp(spec) : probeHttp(spec);
  // node:http throws at once on a request it refuses (a bad header, a path with spaces);
  // that is a failed probe of this member, never an unhandled rejection.
  return p.catch((err: unknown) => ({ ok: false, reason: `${spec.protocol} probe could not be sent: ${messageOf(err)}` }));
}

function probeTcp(spec: ProbeSpec): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const sock = connect({ host: spec.host, port: spec.port });
    const done = (r: ProbeResult) => { clearTimeout(timer); sock.destroy(); resolve(r); };
    const timer = setTimeout(() => done({ ok: false, reason: `tcp connect timed out after ${spec.timeoutMs} ms` }), spec.timeoutMs);
    sock.once('connect', () => done({ ok: true, reason: 'tcp connect succeeded' }));
    sock.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, reason: `tcp connect failed: ${err.code ?? err.message}` }));
  });
}

function probeHttp(spec: ProbeSpec): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const tls = spec.protocol === 'https';
    const req = (tls ? httpsRequest : httpRequest)({
      host: spec.host, port: spec.port, method: spec.method, path: spec.path, agent: false,
      headers: { ...spec.headers, host: spec.hostHeader, 'user-agent': spec.userAgent, connection: 'close' },
      ...(tls ? { servername: spec.servername ?? undefined, rejectUnauthorized: spec.tlsVerify, ...(spec.clientCert ?? {}) } : {}),
    }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      clearTimeout(timer);
      req.destroy();
      resolve(spec.healthy[status] ? { ok: true, reason: `${spec.protocol} ${spec.method} ${spec.path} answered ${status}` }
        : { ok: false, reason: `${spec.protocol} ${spec.method} ${spec.path} answered ${status}, not an accepted status` });
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve({ ok: false, reason: `${spec.protocol} probe timed out after ${spec.timeoutMs} ms` });
    }, spec.timeoutMs);
    req.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: `${spec.protocol} probe failed: ${err.code ?? err.message}` });
    });
    req.end();
  });
}
