import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

// Linux /proc: which processes a gateway runs, and which of them holds a TCP connection. The
// kernel's own account, so a test can tell which worker served a request without the gateway
// having to say so.

function read(path: string): string | null {
  try { return readFileSync(path, 'utf8'); } catch { return null; }
}

/** The proxy worker processes (node:cluster children running worker-main) of the process `pid`. */
export function workerPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    // The command name may hold spaces and parentheses: the fields go on after the last ')'.
    const ppid = stat === null ? NaN : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid !== pid) continue;
    // tsx starts an esbuild service beside the workers.
    if (read(`/proc/${name}/cmdline`)?.includes('worker-main')) out.push(Number(name));
  }
  return out.sort((a, b) => a - b);
}

/** The socket inode of the established IPv4 connection whose local port is `local` and remote port `remote`. */
function connectionInode(local: number, remote: number): string | null {
  const table = read('/proc/net/tcp') ?? '';
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== '01') continue;
    if (parseInt(f[1]!.split(':')[1]!, 16) === local && parseInt(f[2]!.split(':')[1]!, 16) === remote) return f[9]!;
  }
  return null;
}

/**
 * Which of `pids` holds the server side of the connection a client made from `clientPort` to
 * `serverPort` on loopback (null: none of them, or the connection is gone).
 */
export function connectionOwner(serverPort: number, clientPort: number, pids: readonly number[]): number | null {
  const inode = connectionInode(serverPort, clientPort);
  if (inode === null) return null;
  const target = `socket:[${inode}]`;
  for (const pid of pids) {
    let fds: string[];
    try { fds = readdirSync(`/proc/${pid}/fd`); } catch { continue; }
    for (const fd of fds) {
      try { if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return pid; } catch { /* closed meanwhile */ }
    }
  }
  return null;
}
