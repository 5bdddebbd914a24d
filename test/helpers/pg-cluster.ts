import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PG_ROOT = '/usr/lib/postgresql';

/** The newest installed server's bin directory holding initdb and pg_ctl, or null. */
export function pgBinDir(): string | null {
  if (!existsSync(PG_ROOT)) return null;
  const versions = readdirSync(PG_ROOT).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = join(PG_ROOT, v, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin;
  }
  return null;
}

/** Why a private cluster cannot be made here (null: it can). */
export function pgClusterUnavailable(): string | null {
  if (!pgBinDir()) return `no initdb/pg_ctl under ${PG_ROOT}/*/bin: a test that stops the database needs a private cluster`;
  if (userInfo().uid === 0 && !existsSync('/usr/sbin/runuser')) return 'running as root without runuser: initdb refuses root';
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A PostgreSQL cluster of the test's own (initdb into a temp dir, its own port on
 * 127.0.0.1), so that a test may stop and start the database without touching the
 * machine's shared server.
 */
export interface PgCluster {
  url: string;
  port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startPgCluster(): Promise<PgCluster> {
  const bin = pgBinDir();
  if (!bin) throw new Error(pgClusterUnavailable() ?? 'no PostgreSQL binaries');
  const dir = await mkdtemp(join(tmpdir(), 'sluice-pgc-'));
  const data = join(dir, 'data');
  // initdb and postgres refuse to run as root: as root, run them as the postgres user.
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: g } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(g.trim()));
  }
  const pgRun = (cmd: string, args: string[]) => (asRoot
    ? run('/usr/sbin/runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { timeout: 60_000 })
    : run(join(bin, cmd), args, { timeout: 60_000 }));
  await pgRun('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  const opts = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c max_connections=50`;
  let running = false;
  const cluster: PgCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      await pgRun('pg_ctl', ['start', '-D', data, '-w', '-t', '30', '-l', join(dir, 'log'), '-o', opts]);
      running = true;
    },
    async stop() {
      await pgRun('pg_ctl', ['stop', '-D', data, '-w', '-t', '30', '-m', 'fast']);
      running = false;
    },
    async destroy() {
      if (running) await pgRun('pg_ctl', ['stop', '-D', data, '-w', '-t', '30', '-m', 'immediate']).catch(() => undefined);
      running = false;
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await cluster.start();
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
  return cluster;
}
