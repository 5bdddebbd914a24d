// Starting a built sluice (dist/cli.js) for a bench and talking to its operator API: shared
// by the L7 bench (proxies.ts) and the L4 bench (l4-peers.ts).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, launch, waitPort } from './lib.js';

export const ADMIN_TOKEN = 'bench-operator-token-0123456789abcdef';

/** An operator API call; any status but 2xx throws with the answer's text. */
export type Api = <T = Record<string, any>>(method: string, path: string, body?: unknown) => Promise<T>;

export interface SluiceProcess { proc: ChildProcess; admin: number; proxyPort: number; api: Api }

/** A fresh sluice with its own data dir, admin and L7 proxy listeners on 127.0.0.1, pinned to `cpu`. */
export async function startSluice(nodeFlags: string[], cpu: number | null, extraArgs: string[] = []): Promise<SluiceProcess> {
  const [proxyPort, admin] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const proc = launch(process.execPath, [...nodeFlags, 'dist/cli.js', 'start', '--data-dir', dir, '--admin-listen', `127.0.0.1:${admin}`,
    '--proxy-listen', `127.0.0.1:${proxyPort}`, '--log-level', 'warn', ...extraArgs], cpu, { SLUICE_ADMIN_TOKEN: ADMIN_TOKEN },
    process.env.SLUICE_BENCH_STDOUT);
  try {
    await waitPort(admin);
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  const api: Api = async (method, path, body) => {
    const r = await fetch(`http://127.0.0.1:${admin}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await r.text();
    if (r.status < 200 || r.status > 299) throw new Error(`sluice ${method} ${path}: ${r.status} ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : {}) as never;
  };
  return { proc, admin, proxyPort, api };
}
