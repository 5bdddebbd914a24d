import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A client connection whose bytes the test writes itself, recording what comes back and when it closed. */
export interface RawClient { s: Socket; text: string; closedAt: number | null }

export async function openRaw(port: number, localAddress = '127.0.0.1'): Promise<RawClient> {
  const s = connect({ port, host: '127.0.0.1', localAddress });
  const c: RawClient = { s, text: '', closedAt: null };
  s.on('data', (d: Buffer) => { c.text += d.toString('latin1'); });
  s.on('error', () => {});
  s.once('close', () => { c.closedAt = Date.now(); });
  await once(s, 'connect');
  return c;
}

/** Polls `what` every 10 ms for up to `ms`; its last value. */
export async function until(what: () => boolean, ms: number): Promise<boolean> {
  for (let i = 0; i < ms / 10 && !what(); i++) await sleep(10);
  return what();
}
