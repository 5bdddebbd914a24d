import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect, isIP } from 'node:net';
import type { ProbeResult } from './probe.js';
import { codeOf } from '../model/errors.js';

export type { ProbeResult } from './probe.js';

// L4 probes (gaap.md 3.6): each settles within its deadline, never throws, and leaves no
// socket or child process behind.


/** TCP: a completed handshake passes; a refusal, an unreachable host or the deadline fails. */
export function probeTcpConnect(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const sock = connect({ host, port });
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, reason: `tcp connect to ${host}:${port} timed out after ${timeoutMs} ms` }), timeoutMs);
    sock.once('connect', () => done({ ok: true, reason: `tcp connect to ${host}:${port} succeeded` }));
    sock.once('error', (err) => done({ ok: false, reason: `tcp connect to ${host}:${port} failed: ${codeOf(err)}` }));
  });
}

export interface UdpPortProbe {
  host: string;
  port: number;
  timeoutMs: number;
  /** Sent as one datagram (TEXT, UTF-8). */
  send: string;
  /** The datagram that must come back; empty: any answer passes. */
  receive: string;
}

/**
 * UDP PORT: one datagram out on a connected socket, so that the kernel hands an ICMP
 * port-unreachable back to us as ECONNREFUSED; the expected answer before the deadline passes.
 */
export function probeUdpPort(spec: UdpPortProbe): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const where = `${spec.host}:${spec.port}`;
    const expected = Buffer.from(spec.receive, 'utf8');
    let settled = false;
    let sock: ReturnType<typeof createSocket>;
    try {
      sock = createSocket(isIP(spec.host) === 6 ? 'udp6' : 'udp4');
    } catch (err) {
      resolve({ ok: false, reason: `udp probe of ${where} could not open a socket: ${codeOf(err)}` });
      return;
    }
    // A wrong answer is no verdict yet (the right one may still come before the deadline),
    // but it is what the failure then reports.
    let wrong: string | null = null;
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try { sock.close(); } catch { /* already closed */ }
      resolve(r);
    };
    const timer = setTimeout(() => done({
      ok: false,
      reason: wrong !== null ? `udp ${where} answered ${wrong}, not the expected answer` : `udp ${where}: no answer within ${spec.timeoutMs} ms`,
    }), spec.timeoutMs);
    sock.on('error', (err) => {
      const code = codeOf(err);
      done({ ok: false, reason: code === 'ECONNREFUSED' ? `udp ${where}: port unreachable` : `udp ${where}: ${code}` });
    });
    sock.on('message', (msg) => {
      if (expected.length === 0 || msg.equals(expected)) done({ ok: true, reason: `udp ${where} answered${expected.length ? ' as expected' : ''}` });
      else wrong = JSON.stringify(msg.subarray(0, 32).toString('utf8'));
    });
    try {
      sock.connect(spec.port, spec.host, () => {
        if (settled) return;
        sock.send(Buffer.from(spec.send, 'utf8'), (err) => { if (err) done({ ok: false, reason: `udp ${where}: send failed: ${codeOf(err)}` }); });
      });
    } catch (err) {
      done({ ok: false, reason: `udp ${where}: ${codeOf(err)}` });
    }
  });
}

/** The system ping, if it exists here and may send ICMP echo (raw sockets or the ping group). */
export type PingSupport = { ok: true } | { ok: false; why: string };

function runPing(ip: string, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const waitS = Math.max(1, Math.ceil(timeoutMs / 1000));
    const args = ['-c', '1', '-W', String(waitS), '-n', ...(isIP(ip) === 6 ? ['-6'] : []), ip];
    try {
      execFile('ping', args, { timeout: timeoutMs, killSignal: 'SIGKILL', windowsHide: true, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
        if (!err) { resolve({ ok: true, detail: 'echo reply' }); return; }
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
        if (e.killed) { resolve({ ok: false, detail: `no echo reply within ${timeoutMs} ms` }); return; }
        if (e.code === 'ENOENT') { resolve({ ok: false, detail: 'no ping command' }); return; }
        const text = `${stderr}`.trim() || `${stdout}`.trim().split('\n').pop() || `exit ${String(e.code)}`;
        resolve({ ok: false, detail: text.slice(0, 160) });
      });
    } catch (err) {
      resolve({ ok: false, detail: codeOf(err) });
    }
  });
}

/** Once per node: whether `ping 127.0.0.1` works (installed, and allowed to send ICMP). */
export async function detectPing(): Promise<PingSupport> {
  const r = await runPing('127.0.0.1', 3000);
  return r.ok ? { ok: true } : { ok: false, why: r.detail };
}

/** UDP PING: one ICMP echo through the system ping, within the deadline. */
export async function probePing(ip: string, timeoutMs: number): Promise<ProbeResult> {
  const r = await runPing(ip, timeoutMs);
  return r.ok ? { ok: true, reason: `ping ${ip}: echo reply` } : { ok: false, reason: `ping ${ip}: ${r.detail}` };
}
