import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

// `sluice start` as a real child process: starts on SQLite, serves, and stops cleanly on SIGTERM.
test('sluice start serves the admin API and stops gracefully on SIGTERM', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  const token = 'cli-test-operator-token-0123456789';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', '--data-dir', dir,
    '--admin-listen', '127.0.0.1:0', '--proxy-listen', '127.0.0.1:0', '--log-level', 'info'], {
    env: { ...process.env, SLUICE_ADMIN_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const lines = createInterface({ input: child.stdout! });
    let started: { admin: string; proxy: string } | null = null;
    for await (const line of lines) {
      const rec = JSON.parse(line) as { msg: string; admin: string; proxy: string };
      if (rec.msg === 'sluice started') { started = rec; break; }
    }
    assert.ok(started, 'logged its listeners');
    const admin = `http://${started.admin}`;
    const unauth = await fetch(`${admin}/v1/tenants`);
    assert.equal(unauth.status, 401);
    const res = await fetch(`${admin}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'cli' }) });
    assert.equal(res.status, 201);
    const proxied = await fetch(`http://${started.proxy}/nothing`);
    assert.equal(proxied.status, 404, 'proxy listener answers: no route');
    await proxied.text();

    const rest: string[] = [];
    lines.on('line', (l) => rest.push(l));
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.ok(rest.some((l) => l.includes('"sluice stopped"')), 'logged a clean stop');
  } finally {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('sluice --help documents every flag', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--help'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
  for (const flag of ['--data-dir', '--admin-listen', '--proxy-listen', '--store', '--log-level', 'SLUICE_ADMIN_TOKEN']) {
    assert.ok(out.includes(flag), `help mentions ${flag}`);
  }
});
