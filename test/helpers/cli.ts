import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';

/** `sluice start` as a real child process on 127.0.0.1 port 0, with a fresh data dir. */
export interface SluiceProcess {
  child: ChildProcess;
  adminUrl: string;
  proxyUrl: string;
  /** The --metrics-listen address's /metrics, when the process was given one. */
  metricsUrl: string | null;
  token: string;
  /** Log lines after the start line (stdout is read on, listened to or not: the child never blocks on a full pipe). */
  lines: Interface;
  cleanup(): Promise<void>;
}

const START_MS = 30_000;

/** `env`: more environment for the child (SLUICE_HEARTBEAT_MS, say). */
export async function startSluiceProcess(extraArgs: string[] = [], env: Record<string, string> = {}): Promise<SluiceProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  const token = 'cli-test-operator-token-0123456789';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', '--data-dir', dir,
    '--admin-listen', '127.0.0.1:0', '--proxy-listen', '127.0.0.1:0', '--log-level', 'info', ...extraArgs], {
    env: { ...process.env, SLUICE_ADMIN_TOKEN: token, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  type StartLine = { msg: string; admin: string; proxy: string; metrics?: string | null };
  let started: StartLine | null;
  // Bounded: a start that failed but left the process running (a pool still open) ends here.
  const deadline = setTimeout(() => child.kill('SIGKILL'), START_MS);
  try {
    // Not a for-await: leaving that loop would close the interface and stop reading stdout.
    started = await new Promise<StartLine | null>((resolve, reject) => {
      const onLine = (line: string): void => {
        let rec: StartLine;
        try { rec = JSON.parse(line); } catch (err) { lines.off('line', onLine); reject(err); return; }
        if (rec.msg === 'sluice started') { lines.off('line', onLine); resolve(rec); }
      };
      lines.on('line', onLine);
      lines.once('close', () => resolve(null));
    });
  } finally {
    clearTimeout(deadline);
  }
  if (!started) throw new Error(`sluice exited, or had not started within ${START_MS} ms`);
  return {
    child, lines, token, adminUrl: `http://${started.admin}`, proxyUrl: `http://${started.proxy}`,
    metricsUrl: started.metrics ? `http://${started.metrics}/metrics` : null,
    async cleanup() {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The operator API of a sluice process: one call, its status and JSON body ({} when it has none). */
export function adminApi(p: SluiceProcess) {
  return async (method: string, path: string, body?: unknown) => {
    const res = await fetch(p.adminUrl + path, {
      method, headers: { authorization: `Bearer ${p.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? {} : JSON.parse(text)) as Record<string, any> };
  };
}
