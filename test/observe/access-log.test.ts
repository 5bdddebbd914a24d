import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend } from '../helpers/backends.js';
import { adminApi, startSluiceProcess, type SluiceProcess } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';

type Line = Record<string, any>;

/** Every line of the file, each parsed (a torn or interleaved line fails the parse); [] when there is no file yet. */
async function linesOf(file: string): Promise<Line[]> {
  let text: string;
  try { text = await readFile(file, 'utf8'); } catch { return []; }
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), 'the file ends with a whole line');
  return text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as Line);
}

/** One request on a fresh connection (so that the cluster spreads them over workers): status and body. */
function send(url: string, host: string, opts: { method?: string; path?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(opts.path ?? '/', url);
    const req = httpRequest(u, { method: opts.method ?? 'GET', agent: false, headers: { host, ...opts.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A tenant, an upstream of `members` (127.0.0.1 ports) with one retry, and a route for `host`: the upstream as the API shows it, and the route's id. */
async function route(p: SluiceProcess, host: string, ports: number[]): Promise<{ upstream: Line; routeId: string }> {
  const api = adminApi(p);
  const t = await api('POST', '/v1/tenants', { name: host.replace(/\W/g, '') });
  const u = await api('POST', '/v1/upstreams', { tenantId: t.body.id, name: 'u', retries: 1, members: ports.map((port) => ({ host: '127.0.0.1', port })) });
  assert.equal(u.status, 201, JSON.stringify(u.body));
  const r = await api('POST', '/v1/routes', { upstreamId: u.body.id, hosts: [host] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { upstream: u.body, routeId: r.body.id };
}

async function closedPort(): Promise<number> {
  const b = await startBackend('gone');
  await b.close();
  return b.port;
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-access-'));
  try { return await fn(dir); } finally { await rm(dir, { recursive: true, force: true }); }
}

test('--access-log FILE: one line per request with the route, member, attempts, error code and bytes; a clean stop writes out the last lines', { timeout: 60_000 }, () => withDir(async (dir) => {
  const file = join(dir, 'access.log');
  const good = await startBackend('good');
  const dead = await closedPort();
  const p = await startSluiceProcess(['--access-log', file]);
  try {
    const { upstream, routeId } = await route(p, 'a.test', [dead, good.port]);
    const goodMember = upstream.members[1].id;
    const broken = await route(p, 'broken.test', [dead]);
    await until('the route is served', async () => (await send(p.proxyUrl, 'a.test')).status === 200);
    const warm = (await until('the warm-up request logged', async () => { const l = await linesOf(file); return l.length > 0 && l; })).length;

    const N = 8;
    const bodies: number[] = [];
    for (let i = 0; i < N; i++) {
      const r = await send(p.proxyUrl, 'a.test', { path: `/x/${i}?q=${i}`, headers: { 'user-agent': `ua-${i}`, referer: `http://ref.test/${i}` } });
      assert.equal(r.status, 200);
      bodies.push(Buffer.byteLength(r.body));
    }
    const posted = await send(p.proxyUrl, 'a.test', { method: 'POST', path: '/post', body: 'x'.repeat(1234), headers: { 'content-length': '1234' } });
    assert.equal(posted.status, 200);
    // A chunked body is streamed to the member in its framing; only its data is counted.
    const chunked = await send(p.proxyUrl, 'a.test', { method: 'POST', path: '/chunked', body: 'y'.repeat(3000), headers: { 'transfer-encoding': 'chunked' } });
    assert.equal(chunked.status, 200);
    assert.equal((await send(p.proxyUrl, 'nowhere.test', { path: '/missing' })).status, 404);
    assert.equal((await send(p.proxyUrl, 'broken.test')).status, 502);

    // Right away: the last lines are still in the buffer, and SIGTERM must write them out.
    p.child.kill('SIGTERM');
    const [code] = await once(p.child, 'exit');
    assert.equal(code, 0);
    const all = await linesOf(file);
    assert.equal(all.length, warm + N + 4, 'one line per request, none lost at the stop');
    const lines = all.slice(warm);
    for (const l of lines) {
      assert.equal(l.type, 'access');
      assert.equal(l.msg, undefined);
      assert.equal(typeof l.time, 'number');
      assert.ok(Math.abs(l.time - Date.now()) < 60_000, 'time is epoch ms');
      assert.equal(typeof l.pid, 'number');
      assert.equal(l.remote_addr, '127.0.0.1');
      assert.equal(l.http_version, '1.1');
      assert.equal(typeof l.request_ms, 'number');
      assert.equal(l.upgrade, false);
    }
    const ok = lines.slice(0, N);
    let retried = 0;
    for (const [i, l] of ok.entries()) {
      assert.equal(l.method, 'GET');
      assert.equal(l.target, `/x/${i}?q=${i}`);
      assert.equal(l.host, 'a.test');
      assert.equal(l.status, 200);
      assert.equal(l.user_agent, `ua-${i}`);
      assert.equal(l.referer, `http://ref.test/${i}`);
      assert.equal(l.body_bytes_sent, bodies[i]);
      assert.equal(l.request_bytes, 0);
      assert.equal(l.route, routeId);
      assert.equal(l.upstream, upstream.id);
      assert.equal(l.member, goodMember);
      assert.equal(l.member_addr, `127.0.0.1:${good.port}`);
      assert.equal(l.error, null);
      assert.equal(typeof l.upstream_ms, 'number');
      assert.ok(l.upstream_ms <= l.request_ms);
      assert.ok(l.attempts === 1 || l.attempts === 2);
      if (l.attempts === 2) retried++;
    }
    // Round robin over the dead member and the live one: every other request tried the dead one first.
    assert.ok(retried >= N / 2 - 1, `requests that went to the down member first and were retried: ${retried}`);
    const post = lines[N]!;
    assert.equal(post.method, 'POST');
    assert.equal(post.request_bytes, 1234);
    const streamed = lines[N + 1]!;
    assert.deepEqual([streamed.method, streamed.target, streamed.request_bytes], ['POST', '/chunked', 3000]);
    const miss = lines[N + 2]!;
    assert.deepEqual([miss.status, miss.error, miss.route, miss.upstream, miss.member, miss.attempts, miss.upstream_ms, miss.host], [404, 'route_not_found', null, null, null, 0, null, 'nowhere.test']);
    assert.ok(miss.body_bytes_sent > 0, 'the error body is counted');
    const bad = lines[N + 3]!;
    assert.deepEqual([bad.status, bad.error, bad.route, bad.upstream, bad.member, bad.member_addr], [502, 'upstream_connect_failed', broken.routeId, broken.upstream.id, broken.upstream.members[0].id, `127.0.0.1:${dead}`]);
    assert.ok(bad.attempts >= 1);
    assert.equal(bad.upstream_ms, null, 'no member answered');
  } finally {
    await p.cleanup();
    await good.close();
  }
}));

test('--access-log stdout: the lines are JSON, marked type "access", told from the process log', { timeout: 60_000 }, async () => {
  const good = await startBackend('good');
  const p = await startSluiceProcess(['--access-log', 'stdout']);
  const out: string[] = [];
  p.lines.on('line', (l) => out.push(l));
  try {
    await route(p, 's.test', [good.port]);
    await until('the route is served', async () => (await send(p.proxyUrl, 's.test')).status === 200);
    for (let i = 0; i < 20; i++) assert.equal((await send(p.proxyUrl, 's.test', { path: `/s/${i}` })).status, 200);
    await send(p.proxyUrl, 'nowhere.test');
    // Beyond one atomic pipe write (PIPE_BUF, 4096 bytes) a line could interleave with another process's: it is shortened.
    const big = `/big/${'a'.repeat(6000)}`;
    assert.equal((await send(p.proxyUrl, 's.test', { path: big, headers: { 'user-agent': 'u'.repeat(3000) } })).status, 200);
    p.child.kill('SIGTERM');
    await once(p.child, 'exit');
    const long = out.find((l) => l.includes('"/big/'));
    assert.ok(long, 'the long request has its line');
    assert.ok(Buffer.byteLength(long) + 1 <= 4096, `the line with its newline fits one atomic write: ${Buffer.byteLength(long) + 1}`);
    const cut = JSON.parse(long) as Line;
    assert.equal(cut.truncated, true);
    assert.ok(big.startsWith(cut.target) && cut.target.length >= 512, `the target's head is kept (${cut.target.length} characters)`);
    assert.equal(cut.status, 200);
    const recs = out.map((l) => JSON.parse(l) as Line);
    const access = recs.filter((r) => r.type === 'access');
    const proc = recs.filter((r) => r.type === undefined);
    assert.equal(access.length + proc.length, recs.length, 'every line is one or the other');
    assert.ok(access.filter((r) => r.host === 's.test' && /^\/s\/\d+$/.test(r.target)).length === 20, 'the 20 requests');
    assert.equal(access.filter((r) => r.error === 'route_not_found').length, 1);
    for (const r of access) { assert.equal(r.msg, undefined); assert.equal(r.level, undefined); }
    for (const r of proc) { assert.equal(typeof r.msg, 'string'); assert.equal(r.level, 30); }
    assert.ok(proc.some((r) => r.msg === 'shutting down'), 'the process log is there too');
  } finally {
    await p.cleanup();
    await good.close();
  }
});

test('--workers 2 --access-log stdout: both workers write the one pipe, and every line is whole', { timeout: 90_000 }, async () => {
  const good = await startBackend('good');
  const p = await startSluiceProcess(['--workers', '2', '--access-log', 'stdout']);
  const out: string[] = [];
  p.lines.on('line', (l) => out.push(l));
  try {
    await route(p, 'ws.test', [good.port]);
    await until('both workers serve the route', async () => (await send(p.proxyUrl, 'ws.test')).status === 200 && (await send(p.proxyUrl, 'ws.test')).status === 200);
    const N = 60;
    await Promise.all(Array.from({ length: 4 }, async (_, k) => {
      for (let i = k; i < N; i += 4) assert.equal((await send(p.proxyUrl, 'ws.test', { path: `/ws/${i}` })).status, 200);
    }));
    p.child.kill('SIGTERM');
    assert.equal((await once(p.child, 'exit'))[0], 0);
    const access = out.map((l) => JSON.parse(l) as Line).filter((r) => r.type === 'access' && /^\/ws\/\d+$/.test(r.target));
    assert.equal(access.length, N);
    assert.equal(new Set(access.map((r) => r.pid)).size, 2, 'lines from both workers');
  } finally {
    await p.cleanup();
    await good.close();
  }
});

test('--access-log-sample 0.5: about half the ordinary requests are logged, every gateway error is', { timeout: 90_000 }, () => withDir(async (dir) => {
  const file = join(dir, 'sampled.log');
  const good = await startBackend('good');
  const p = await startSluiceProcess(['--access-log', file, '--access-log-sample', '0.5']);
  try {
    await route(p, 'h.test', [good.port]);
    await until('the route is served', async () => (await send(p.proxyUrl, 'h.test')).status === 200);
    const N = 400;
    for (let i = 0; i < N; i++) assert.equal((await send(p.proxyUrl, 'h.test', { path: `/n/${i}` })).status, 200);
    for (let i = 0; i < 20; i++) assert.equal((await send(p.proxyUrl, 'nowhere.test', { path: `/e/${i}` })).status, 404);
    p.child.kill('SIGTERM');
    await once(p.child, 'exit');
    const lines = await linesOf(file);
    // Each request is logged with probability 0.5 (Math.random): the count is Binomial(400, 0.5),
    // mean 200, standard deviation 10. 120..280 is 8 deviations either way: it does not flake.
    const sampled = lines.filter((l) => /^\/n\/\d+$/.test(l.target)).length;
    assert.ok(sampled >= 120 && sampled <= 280, `sampled ${sampled} of ${N}`);
    assert.equal(lines.filter((l) => /^\/e\/\d+$/.test(l.target)).length, 20, 'errors are never sampled away');
  } finally {
    await p.cleanup();
    await good.close();
  }
}));

test('--workers 2 --access-log FILE: both workers append whole lines; the count matches; SIGTERM writes out every worker\'s last lines', { timeout: 90_000 }, () => withDir(async (dir) => {
  const file = join(dir, 'workers.log');
  const good = await startBackend('good');
  const p = await startSluiceProcess(['--workers', '2', '--access-log', file]);
  try {
    await route(p, 'w.test', [good.port]);
    await until('both workers serve the route', async () => (await send(p.proxyUrl, 'w.test')).status === 200 && (await send(p.proxyUrl, 'w.test')).status === 200);
    const N = 60;
    for (let i = 0; i < N; i++) assert.equal((await send(p.proxyUrl, 'w.test', { path: `/w/${i}` })).status, 200);
    p.child.kill('SIGTERM');
    assert.equal((await once(p.child, 'exit'))[0], 0);
    const lines = (await linesOf(file)).filter((l) => /^\/w\/\d+$/.test(l.target));
    assert.equal(lines.length, N);
    assert.deepEqual(new Set(lines.map((l) => l.target)).size, N, 'each request once');
    const pids = new Set(lines.map((l) => l.pid));
    assert.equal(pids.size, 2, `lines from both workers: ${[...pids].join(', ')}`);
    assert.ok(!pids.has(p.child.pid), 'the primary serves no request');
  } finally {
    await p.cleanup();
    await good.close();
  }
}));

test('SIGHUP reopens the file: after logrotate moved it, new lines go to a new file under the old name', { timeout: 60_000 }, () => withDir(async (dir) => {
  const file = join(dir, 'rotated.log');
  const good = await startBackend('good');
  const p = await startSluiceProcess(['--access-log', file]);
  let sent = 0;
  const hit = async () => { assert.equal((await send(p.proxyUrl, 'r.test', { path: `/r/${sent++}` })).status, 200); };
  try {
    await route(p, 'r.test', [good.port]);
    await until('the route is served', async () => (await send(p.proxyUrl, 'r.test')).status === 200);
    for (let i = 0; i < 3; i++) await hit();
    await until('the first lines are in the file', async () => (await linesOf(file)).filter((l) => l.target?.startsWith('/r/')).length === 3);
    await rename(file, `${file}.1`);
    p.child.kill('SIGHUP');
    await until('lines in the new file', async () => { await hit(); return (await linesOf(file)).length > 0; }, 20_000);
    p.child.kill('SIGTERM');
    assert.equal((await once(p.child, 'exit'))[0], 0, 'SIGHUP did not stop it');
    const old = (await linesOf(`${file}.1`)).filter((l) => l.target?.startsWith('/r/'));
    const fresh = (await linesOf(file)).filter((l) => l.target?.startsWith('/r/'));
    assert.ok(old.length >= 3);
    assert.equal(old.length + fresh.length, sent, 'every request once, in one file or the other');
  } finally {
    await p.cleanup();
    await good.close();
  }
}));

/** `sluice start` with these flags: its exit code and what it wrote to stderr. */
async function startFails(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return withDir(async (dir) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', '--data-dir', dir, '--admin-listen', '127.0.0.1:0', '--proxy-listen', '127.0.0.1:0', ...args], {
      env: { ...process.env, SLUICE_ADMIN_TOKEN: 'cli-test-operator-token-0123456789' }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const [code] = await once(child, 'exit');
    return { code: code as number | null, stderr };
  });
}

test('bad --access-log and --access-log-sample values stop the start with a message naming the flag', { timeout: 60_000 }, async () => {
  const cases: [string[], RegExp][] = [
    [['--access-log-sample', '2'], /--access-log-sample must be a number above 0 and at most 1, got "2"/],
    [['--access-log-sample', '0'], /--access-log-sample .* got "0"/],
    [['--access-log-sample', 'half'], /--access-log-sample .* got "half"/],
    [['--access-log', ''], /--access-log must be off, stdout or a file name, got ""/],
    [['--access-log', join(tmpdir(), 'no-such-dir-for-sluice', 'a.log')], /--access-log: cannot open .*no-such-dir-for-sluice.* for append/],
  ];
  const results = await Promise.all(cases.map(([args]) => startFails(args)));
  for (const [i, [args, message]] of cases.entries()) {
    assert.equal(results[i]!.code, 1, `${args.join(' ')} exits 1`);
    assert.match(results[i]!.stderr, message);
  }
});

test('sluice --help lists the access-log flags', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--help'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  await once(child, 'exit');
  assert.match(out, /--access-log off\|stdout\|FILE/);
  assert.match(out, /--access-log-sample R/);
  assert.match(out, /SIGHUP reopens/);
});
