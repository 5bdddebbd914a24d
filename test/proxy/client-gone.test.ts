import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { clientConnectionClosed, enter, leave, type ClientBound } from '../../src/proxy/client-gone.js';

function bound(name: string, told: string[]): ClientBound {
  return { clientGone: () => told.push(name) };
}

test('client-gone: a closed connection tells exactly the exchanges still in flight on it, once', () => {
  const told: string[] = [];
  const sock = new Socket();
  const [a, b, c] = [bound('a', told), bound('b', told), bound('c', told)];
  enter(sock, a);
  leave(sock, a);
  clientConnectionClosed(sock);
  assert.deepEqual(told, [], 'a finished exchange is not told');

  // Pipelined: several at once, one finished before the close.
  const sock2 = new Socket();
  enter(sock2, a); enter(sock2, b); enter(sock2, c);
  leave(sock2, b);
  clientConnectionClosed(sock2);
  assert.deepEqual(told, ['a', 'c']);
  clientConnectionClosed(sock2);
  assert.deepEqual(told, ['a', 'c'], 'a second close tells no one again');

  const sock3 = new Socket();
  enter(sock3, a);
  leave(sock3, b); // not on this connection: no effect
  clientConnectionClosed(sock3);
  assert.deepEqual(told, ['a', 'c', 'a']);
});
