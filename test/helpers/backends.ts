import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type ServerOptions as TlsServerOptions } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/** What a test backend answers by default: who it is and what it received. */
export interface Echo { name: string; method: string; url: string; headers: Record<string, string | string[] | undefined>; bodyBytes: number }

export type Handler = (req: IncomingMessage, res: ServerResponse, name: string) => void;

export const echo: Handler = (req, res, name) => {
  let bodyBytes = 0;
  req.on('data', (c: Buffer) => { bodyBytes += c.length; });
  req.on('end', () => {
    const body = JSON.stringify({ name, method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes } satisfies Echo);
    res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
    res.end(body);
  });
};

export interface Backend {
  name: string;
  port: number;
  server: Server;
  hits: number;
  /** Stops listening and cuts every open connection, like a crash. */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  revive(): Promise<void>;
  close(): Promise<void>;
}

/** A real HTTP(S) server on 127.0.0.1 that counts its hits; `tls` makes it HTTPS with those options (key pair, client CA...). */
export async function startBackend(name: string, handler: Handler = echo, tls?: TlsServerOptions): Promise<Backend> {
  const sockets = new Set<Socket>();
  const b: Backend = {
    name, port: 0, hits: 0, server: null as unknown as Server,
    async kill() {
      const closed = new Promise((r) => b.server.close(r));
      for (const s of sockets) s.destroy();
      await closed;
    },
    async revive() {
      await new Promise<void>((r) => b.server.listen(b.port, '127.0.0.1', () => r()));
    },
    async close() {
      if (b.server.listening) await b.kill();
    },
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => { b.hits++; handler(req, res, name); };
  b.server = tls ? createTlsServer(tls, onRequest) : createServer(onRequest);
  b.server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  b.server.on('secureConnection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => b.server.listen(0, '127.0.0.1', () => r()));
  b.port = (b.server.address() as AddressInfo).port;
  return b;
}

export async function startBackends(names: string[], handler: Handler = echo): Promise<Backend[]> {
  return Promise.all(names.map((n) => startBackend(n, handler)));
}

export function members(backends: Backend[], extra: Record<string, unknown>[] = []): Record<string, unknown>[] {
  return backends.map((b, i) => ({ host: '127.0.0.1', port: b.port, ...(extra[i] ?? {}) }));
}
