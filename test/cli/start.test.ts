import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { startSluiceProcess } from '../helpers/cli.js';

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
  for (const flag of ['--data-dir', '--admin-listen', '--proxy-listen', '--store', '--log-level', '--workers', '--max-upstreams', '--max-members', '--upstream-client-cert', '--upstream-client-key', '--huawei-api-rate', '--header-timeout', '--request-timeout', '--max-connections', '--max-connections-per-ip', '--shutdown-grace', 'SLUICE_ADMIN_TOKEN']) {
    assert.ok(out.includes(flag), `help mentions ${flag}`);
  }
});

test('sluice start refuses bad quota, certificate, timeout and connection flags with a message naming the flag', async () => {
  for (const [args, names] of [
    [['--max-upstreams', '0'], '--max-upstreams'],
    [['--max-members', 'lots'], '--max-members'],
    [['--upstream-client-cert', 'only-the-cert.pem'], '--upstream-client-key'],
    [['--header-timeout', '0'], '--header-timeout'],
    [['--request-timeout', '5', '--header-timeout', '10'], '--request-timeout'],
    [['--max-connections', 'many'], '--max-connections'],
    [['--max-connections-per-ip', '1.5'], '--max-connections-per-ip'],
    [['--shutdown-grace', '-'], '--shutdown-grace'],
  ] as const) {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', '--admin-listen', '127.0.0.1:0', '--proxy-listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => { err += d; });
    const [code] = await once(child, 'exit');
    assert.equal(code, 1, `${args.join(' ')} exits 1`);
    assert.ok(err.includes(names), `${args.join(' ')}: ${err}`);
  }
});
