import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP relay on 127.0.0.1 port 0 in front of a real server, that can be frozen: while frozen
 * it forwards no byte either way and closes nothing, and the connections it accepts are
 * never forwarded, as with a server that stopped answering without going down. A client
 * that closes its side still closes the relay's other side.
 */
export interface Relay {
  port: number;
  freeze(): void;
  /** Forwards again what was held; `reset` instead cuts every connection that was open, as a restarted peer would. */
  thaw(opts?: { reset?: boolean }): void;
  close(): Promise<void>;
}

interface Pair { client: Socket; upstream: Socket | null; toUpstream: Buffer[]; toClient: Buffer[] }

export async function startRelay(targetPort: number, targetHost = '127.0.0.1'): Promise<Relay> {
  const pairs = new Set<Pair>();
  let frozen = false;

  const forward = (pair: Pair) => {
    const up = connect(targetPort, targetHost);
    pair.upstream = up;
    up.on('error', () => pair.client.destroy());
    up.on('close', () => pair.client.destroy());
    up.on('data', (d: Buffer) => { if (frozen) pair.toClient.push(d); else pair.client.write(d); });
    pair.client.on('data', (d: Buffer) => { if (frozen) pair.toUpstream.push(d); else up.write(d); });
    pair.client.resume();
  };

  const server = createServer({ pauseOnConnect: true }, (client) => {
    const pair: Pair = { client, upstream: null, toUpstream: [], toClient: [] };
    pairs.add(pair);
    client.on('error', () => undefined);
    client.on('close', () => { pair.upstream?.destroy(); pairs.delete(pair); });
    if (!frozen) forward(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: (server.address() as AddressInfo).port,
    freeze() { frozen = true; },
    thaw(opts = {}) {
      frozen = false;
      for (const pair of [...pairs]) {
        if (opts.reset) { pair.client.destroy(); pair.upstream?.destroy(); continue; }
        if (!pair.upstream) { forward(pair); continue; }
        for (const d of pair.toUpstream.splice(0)) pair.upstream.write(d);
        for (const d of pair.toClient.splice(0)) pair.client.write(d);
      }
    },
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const pair of pairs) { pair.client.destroy(); pair.upstream?.destroy(); }
      await closed;
    },
  };
}
