import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import selfsigned from 'selfsigned';
import { Agent, request } from 'undici';
import { startSluiceProcess } from '../helpers/cli.js';
import { PG_URL, pgAvailable, pgTestSchema } from '../helpers/pg.js';

// `sluice start` as a real child process: starts on SQLite, serves, and stops cleanly on SIGTERM.
test('sluice start serves the admin API and stops gracefully on SIGTERM', { timeout: 60_000 }, async () => {
  const p = await startSluiceProcess();
  const { child, lines, token } = p;
  try {
    const admin = p.adminUrl;
    const unauth = await fetch(`${admin}/v1/tenants`);
    assert.equal(unauth.status, 401);
    const res = await fetch(`${admin}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'cli' }) });
    assert.equal(res.status, 201);
    const proxied = await fetch(`${p.proxyUrl}/nothing`);
    assert.equal(proxied.status, 404, 'proxy listener answers: no route');
    await proxied.text();

    const rest: string[] = [];
    lines.on('line', (l) => rest.push(l));
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.ok(rest.some((l) => l.includes('"sluice stopped"')), 'logged a clean stop');
  } finally {
    await p.cleanup();
  }
});

test('sluice --help documents every flag', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--help'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
  for (const flag of ['--data-dir', '--admin-listen', '--proxy-listen', '--store', '--store-timeout', '--store-connect-timeout', '--log-level', '--workers', '--max-upstreams', '--max-members', '--upstream-client-cert', '--upstream-client-key', '--huawei-api-rate', '--tencent-api-rate', '--admin-tls-cert', '--admin-tls-key', '--header-timeout', '--request-timeout', '--send-timeout', '--max-connections', '--max-connections-per-ip', '--shutdown-grace', '--max-proxies-per-group', '--max-proxies-per-tenant', '--max-listeners-per-proxy', '--max-origins-per-listener', '--max-ports-per-call', '--region', '--l7-regions', '--node-name', '--l4-drain-timeout', '--metrics-listen', 'SLUICE_ADMIN_TOKEN']) {
    assert.ok(out.includes(flag), `help mentions ${flag}`);
  }
});

test('sluice start refuses bad quota, store deadline, certificate, timeout and connection flags with a message naming the flag', async () => {
  for (const [args, names] of [
    [['--max-upstreams', '0'], '--max-upstreams'],
    [['--max-members', 'lots'], '--max-members'],
    [['--max-ports-per-call', '0'], '--max-ports-per-call'],
    [['--max-listeners-per-proxy', 'x'], '--max-listeners-per-proxy'],
    [['--upstream-client-cert', 'only-the-cert.pem'], '--upstream-client-key'],
    [['--admin-tls-key', 'only-the-key.pem'], '--admin-tls-cert'],
    [['--admin-tls-cert', 'missing-cert.pem', '--admin-tls-key', 'missing-key.pem'], '--admin-tls-cert'],
    [['--region', 'Not A Region'], '--region'],
    [['--node-name', 'no spaces'], '--node-name'],
    [['--metrics-listen', 'nowhere'], '--metrics-listen'],
    [['--l7-regions', 'r-one,R-TWO'], '--l7-regions'],
    [['--l7-regions', ''], '--l7-regions'],
    [['--l7-regions', 'r-one,,r-two'], '--l7-regions'],
    [['--tencent-api-rate', '0'], '--tencent-api-rate'],
    [['--store-timeout', 'soon'], '--store-timeout'],
    [['--store-connect-timeout', '0'], '--store-connect-timeout'],
    [['--header-timeout', '0'], '--header-timeout'],
    [['--request-timeout', '5', '--header-timeout', '10'], '--request-timeout'],
    [['--send-timeout', 'never'], '--send-timeout'],
    [['--send-timeout', '-1'], '--send-timeout'],
    [['--max-connections', 'many'], '--max-connections'],
    [['--max-connections-per-ip', '1.5'], '--max-connections-per-ip'],
    [['--shutdown-grace', '-'], '--shutdown-grace'],
    [['--l4-drain-timeout', '3601'], '--l4-drain-timeout'],
    [['--l4-drain-timeout', '-1'], '--l4-drain-timeout'],
    [['--l4-drain-timeout', '2.5'], '--l4-drain-timeout'],
  ] as const) {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', '--admin-listen', '127.0.0.1:0', '--proxy-listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => { err += d; });
    const [code] = await once(child, 'exit');
    assert.equal(code, 1, `${args.join(' ')} exits 1`);
    assert.ok(err.includes(names), `${args.join(' ')}: ${err}`);
  }
});

test('--admin-tls-cert/--admin-tls-key serve the admin API over HTTPS only', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-tls-'));
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048, extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }] });
  await writeFile(join(dir, 'cert.pem'), pems.cert);
  await writeFile(join(dir, 'key.pem'), pems.private);
  const p = await startSluiceProcess(['--admin-tls-cert', join(dir, 'cert.pem'), '--admin-tls-key', join(dir, 'key.pem')]);
  const agent = new Agent({ connect: { ca: pems.cert } });
  try {
    const https = p.adminUrl.replace('http://', 'https://');
    const unauth = await request(`${https}/v1/tenants`, { dispatcher: agent });
    assert.equal(unauth.statusCode, 401);
    await unauth.body.text();
    const ok = await request(`${https}/v1/tenants`, { dispatcher: agent, headers: { authorization: `Bearer ${p.token}` } });
    assert.equal(ok.statusCode, 200);
    await ok.body.text();
    // Plain HTTP to the same port gets no API answer.
    const plain = await request(`${p.adminUrl}/v1/tenants`, { headers: { authorization: `Bearer ${p.token}` } }).then((r) => r.statusCode, () => 0);
    assert.notEqual(plain, 200);
  } finally {
    await agent.close();
    await p.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a start that fails once the store is open exits 1 naming the cause, not left running on the open pool', { timeout: 60_000 }, async (t) => {
  if (!(await pgAvailable())) return t.skip('PostgreSQL not reachable');
  const s = await pgTestSchema();
  try {
    const u = new URL(PG_URL);
    u.searchParams.set('options', `-c search_path=${s.schema}`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', '--store', u.toString(), '--admin-listen', '127.0.0.1:0', '--proxy-listen', '127.0.0.1:0'], {
      stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SLUICE_ADMIN_TOKEN: 'too-short' },
    });
    let err = '';
    child.stderr!.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code, signal] = await once(child, 'exit');
    clearTimeout(timer);
    assert.equal(signal, null, 'it exited by itself');
    assert.equal(code, 1);
    assert.match(err, /SLUICE_ADMIN_TOKEN/);
  } finally {
    await s.drop();
  }
});
