import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { startSluiceProcess, type SluiceProcess } from '../helpers/cli.js';
import { PG_URL, pgAvailable, pgTestSchema } from '../helpers/pg.js';

const run = promisify(execFile);
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
// Short beats, so that a killed node is down within a second or so.
const BEAT = { SLUICE_HEARTBEAT_MS: '200' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface NodeOut { id: string; name: string; labels: Record<string, string>; version: string; appliedRevision: number; status: string }

async function nodes(p: SluiceProcess): Promise<NodeOut[]> {
  const res = await fetch(`${p.adminUrl}/v1/nodes`, { headers: { authorization: `Bearer ${p.token}` } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { items: NodeOut[] }).items;
}

/** Polls `fn` until `ok` holds of its answer: 100 tries, 100 ms apart. */
async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 100; i++) {
    last = await fn();
    if (ok(last)) return last;
    await sleep(100);
  }
  throw new Error(`${what}: still ${JSON.stringify(last)}`);
}

async function post(p: SluiceProcess, path: string, body: unknown): Promise<void> {
  const res = await fetch(p.adminUrl + path, { method: 'POST', headers: { authorization: `Bearer ${p.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 201, await res.text());
}

/** `sluice nodes` as an operator runs it against `p`. */
async function cli(p: SluiceProcess, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'nodes', '--admin-url', p.adminUrl, ...args], {
    env: { ...process.env, SLUICE_ADMIN_TOKEN: p.token }, timeout: 30_000,
  });
  return stdout;
}

describe('node registry: two gateway processes on one PostgreSQL schema', () => {
  const procs: SluiceProcess[] = [];
  let drop: (() => Promise<void>) | null = null;
  after(async () => {
    for (const p of procs) await p.cleanup();
    await drop?.();
  });

  test('each lists both, with names, regions, versions and applied revisions that follow writes; a SIGKILLed node turns down; a stopped one leaves', { timeout: 120_000 }, async (t) => {
    if (!(await pgAvailable())) return t.skip('PostgreSQL not reachable');
    const s = await pgTestSchema();
    drop = s.drop;
    const u = new URL(PG_URL);
    u.searchParams.set('options', `-c search_path=${s.schema}`);
    const db = new pg.Client({ connectionString: u.toString() });
    const a = await startSluiceProcess(['--store', u.toString(), '--node-name', 'node-a', '--region', 'r-one'], BEAT);
    procs.push(a);
    const b = await startSluiceProcess(['--store', u.toString(), '--node-name', 'node-b', '--region', 'r-two', '--l7-regions', 'r-two,r-three'], BEAT);
    procs.push(b);
    await db.connect();
    try {
      const revision = async () => Number((await db.query<{ revision: string }>('SELECT revision FROM meta')).rows[0]!.revision);
      const bothAt = (rev: number) => (list: NodeOut[]) => list.length === 2 && list.every((n) => n.appliedRevision === rev && n.status === 'up');
      for (const p of [a, b]) {
        const list = await until('both nodes listed', () => nodes(p), bothAt(await revision()));
        assert.deepEqual(list.map((n) => [n.name, n.labels, n.version]), [['node-a', { region: 'r-one' }, VERSION], ['node-b', { region: 'r-two', l7Regions: 'r-three,r-two' }, VERSION]]);
        assert.notEqual(list[0]!.id, list[1]!.id);
      }
      const before = await revision();
      await post(a, '/v1/tenants', { name: 'moves-a' });
      await post(b, '/v1/tenants', { name: 'moves-b' });
      const now = await revision();
      assert.equal(now, before + 2);
      for (const p of [a, b]) await until('applied revisions follow the writes', () => nodes(p), bothAt(now));

      // The CLI reads the same route.
      const json = JSON.parse(await cli(b, '--json')) as { items: NodeOut[]; total: number };
      assert.equal(json.total, 2);
      assert.deepEqual(json.items.map((n) => [n.name, n.appliedRevision]), [['node-a', now], ['node-b', now]]);
      const table = (await cli(a)).trim().split('\n');
      assert.match(table[0]!, /^NAME\s+STATUS\s+REGION\s+L7 REGIONS\s+VERSION\s+REVISION/);
      assert.match(table[1]!, new RegExp(`^node-a\\s+up\\s+r-one\\s+all\\s+${VERSION.replaceAll('.', '\\.')}\\s+${now}\\s`));
      assert.match(table[2]!, /^node-b\s+up\s+r-two\s+r-three,r-two\s/);

      b.child.kill('SIGKILL');
      await once(b.child, 'exit');
      const down = await until('node-b shown down', () => nodes(a), (l) => l.find((n) => n.name === 'node-b')?.status === 'down');
      assert.equal(down.find((n) => n.name === 'node-a')!.status, 'up', 'the survivor stays up');
      assert.equal(down.length, 2, 'a killed node stays listed, down');

      // A clean stop removes the node's row: only the killed one is left.
      a.child.kill('SIGTERM');
      await once(a.child, 'exit');
      const rows = (await db.query<{ name: string }>('SELECT name FROM nodes ORDER BY name')).rows.map((r) => r.name);
      assert.deepEqual(rows, ['node-b']);
      assert.equal(await revision(), now, 'beats and the removal bumped no revision');
    } finally {
      await db.end();
    }
  });
});

test('node registry on SQLite: the one node lists itself, named after the host by default', { timeout: 60_000 }, async () => {
  const p = await startSluiceProcess(['--region', 'r-solo'], BEAT);
  try {
    const list = await until('the node listed', () => nodes(p), (l) => l.length === 1);
    const { hostname } = await import('node:os');
    assert.deepEqual(list.map((n) => [n.name, n.labels, n.version, n.status]), [[hostname(), { region: 'r-solo' }, VERSION, 'up']]);
    const before = list[0]!.appliedRevision;
    await post(p, '/v1/tenants', { name: 'solo' });
    await until('its applied revision moves', () => nodes(p), (l) => l[0]!.appliedRevision === before + 1);
  } finally {
    await p.cleanup();
  }
});

test('sluice nodes refuses a bad --admin-url, a missing token and a refused one, naming the cause', { timeout: 60_000 }, async () => {
  const p = await startSluiceProcess([], BEAT);
  try {
    for (const [args, env, names] of [
      [['--admin-url', 'ftp://127.0.0.1'], { SLUICE_ADMIN_TOKEN: p.token }, '--admin-url'],
      [['--admin-url', p.adminUrl], {}, 'SLUICE_ADMIN_TOKEN'],
      [['--admin-url', p.adminUrl], { SLUICE_ADMIN_TOKEN: 'not-the-operator-token-at-all' }, 'answered 401'],
    ] as const) {
      const environment: Record<string, string | undefined> = { ...process.env, ...env };
      if (!('SLUICE_ADMIN_TOKEN' in env)) delete environment.SLUICE_ADMIN_TOKEN;
      const failed = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'nodes', ...args], { env: environment, timeout: 30_000 })
        .then(() => null, (err: { code: number; stderr: string }) => err);
      assert.ok(failed, `${args.join(' ')} fails`);
      assert.equal(failed.code, 1);
      assert.ok(failed.stderr.includes(names), `${args.join(' ')}: ${failed.stderr}`);
    }
  } finally {
    await p.cleanup();
  }
});
