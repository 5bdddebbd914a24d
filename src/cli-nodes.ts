import type { NodeView } from './model/node.js';

export interface NodesCommand {
  adminUrl: string;
  token: string | undefined;
  json: boolean;
}

function table(items: NodeView[]): string {
  const head = ['NAME', 'STATUS', 'REGION', 'L7 REGIONS', 'VERSION', 'REVISION', 'LAST SEEN', 'ID'];
  // A node without the l7Regions label serves every region's routes.
  const rows = items.map((n) => [n.name, n.status, n.labels.region ?? '-', n.labels.l7Regions ?? 'all', n.version, String(n.appliedRevision), `${(n.silentMs / 1000).toFixed(1)}s ago`, n.id]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** `sluice nodes`: GET /v1/nodes on a running gateway; throws, naming the cause, when the API refuses or cannot be reached. */
export async function printNodes(cmd: NodesCommand, out: NodeJS.WritableStream): Promise<number> {
  let url: URL;
  try { url = new URL('/v1/nodes', cmd.adminUrl); } catch { throw new Error(`--admin-url must be an http(s) URL, got "${cmd.adminUrl}"`); }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--admin-url must be an http(s) URL, got "${cmd.adminUrl}"`);
  if (!cmd.token) throw new Error('SLUICE_ADMIN_TOKEN must hold the operator token');
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${cmd.token}` }, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new Error(`cannot reach the admin API at ${url.origin} (${(err as Error).message})`, { cause: err });
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`the admin API answered ${res.status}: ${text}`);
  const body = JSON.parse(text) as { items: NodeView[]; total: number };
  out.write(cmd.json ? `${JSON.stringify(body, null, 2)}\n` : table(body.items));
  return 0;
}
