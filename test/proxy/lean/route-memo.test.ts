import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setTimeout as sleep } from 'node:timers/promises';
import { members, startBackend, type Backend } from '../../helpers/backends.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { openRaw, until } from '../../helpers/raw-client.js';

// A full collection on demand, to see whether anything still holds a superseded snapshot.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let gw: TestGateway;
let backend: Backend;

before(async () => {
  gw = await startTestGateway();
  backend = await startBackend('memo');
  await gw.expose({ members: members([backend]) }, { hosts: ['memo.test'] });
});
after(async () => {
  await gw.close();
  await backend.close();
});

test('an idle keep-alive connection lets go of the snapshot its last request was routed on', async () => {
  const c = await openRaw(gw.sluice.proxyPort);
  c.s.write('GET /a HTTP/1.1\r\nhost: memo.test\r\n\r\n');
  assert.ok(await until(() => c.text.includes('"name":"memo"'), 5000), 'the first request was answered');
  const first = new WeakRef(gw.sluice.runtime.snapshot);

  // A config change supersedes it; the connection stays open and idle.
  await gw.expose({ members: members([backend]) }, { hosts: ['other.test'] });
  await gw.settled();
  assert.notEqual(gw.sluice.runtime.snapshot, first.deref());

  // The listener looks at its connections once a second: two checks, then a full collection.
  let freed = false;
  for (let i = 0; i < 50 && !freed; i++) {
    await sleep(100);
    gc();
    await sleep(0);
    gc();
    freed = first.deref() === undefined;
  }
  assert.ok(freed, 'the superseded snapshot was collected while the connection stayed open');
  assert.equal(c.closedAt, null, 'the connection is still open');

  // And the connection routes its next request on the current snapshot.
  c.text = '';
  c.s.write('GET /b HTTP/1.1\r\nhost: other.test\r\n\r\n');
  assert.ok(await until(() => c.text.includes('"url":"/b"'), 5000), 'the next request was answered');
  c.s.destroy();
});
